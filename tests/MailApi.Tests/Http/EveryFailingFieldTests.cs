using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;

namespace MailApi.Tests.Http;

/// <summary>
/// A body that cannot be read as its type names every failing field, as the ValidationProblem schema promises: every
/// value of the wrong JSON type or shape, every unknown property and every repeated key, each by its JSON path, in every
/// request body. The serialiser alone stops at the first. Nothing is stored.
/// </summary>
public sealed class EveryFailingFieldTests(EveryFailingFieldTests.Service service) : IClassFixture<EveryFailingFieldTests.Service>
{
    /// <summary>One service for the class; the relay is a closed port, nothing is sent.</summary>
    public sealed class Service : IDisposable
    {
        public MailApiFactory Factory { get; } = new(FreePort.Get(), new Dictionary<string, string?> { ["Webhooks:AllowPrivateTargets"] = "true" });

        public void Dispose() => Factory.Dispose();
    }

    private const string Valid = "\"from\": \"zotrim@domain.local\", \"to\": [\"student@domain.local\"], \"subject\": \"s\", \"text\": \"t\"";

    /// <summary>The method, path and body, and the paths its errors must name (exactly these).</summary>
    public static TheoryData<string, string, string, string[]> Bodies() => new()
    {
        { "POST", "/v1/messages", """{ "from": 5, "to": ["a@domain.local"], "subject": 7, "text": "t" }""", ["from", "subject"] },
        { "POST", "/v1/messages", """{ "from": "zotrim@domain.local", "to": "a@domain.local", "subject": 5, "text": "t", "sendAt": "soon" }""", ["to", "subject", "sendAt"] },
        { "POST", "/v1/messages", $$"""{ {{Valid}}, "cc": ["b@domain.local", 5], "attachments": [ { "filename": "a.txt", "content": "aGk=" }, { "filename": 9, "content": [] } ] }""",
            ["cc[1]", "attachments[1].filename", "attachments[1].content"] },
        { "POST", "/v1/messages", $$"""{ {{Valid}}, "priority": "high", "tags": "one", "metadata": { "userId": { "id": 42 } } }""", ["priority", "tags", "metadata.userId"] },
        { "POST", "/v1/messages", $$"""{ {{Valid}}, "from": "mallory@domain.local", "headers": { "X-A": "1", "X-A": "2" }, "html": false }""", ["from", "headers.X-A", "html"] },
        { "POST", "/v1/messages", """[ 1, 2 ]""", [""] },
        { "POST", "/v1/messages/batch", $$"""{ "messages": [ { {{Valid}} }, { {{Valid}}, "subject": 5 }, { "from": "zotrim@domain.local", "to": ["a@domain.local", 5], "subject": "s", "text": "t", "CC": [] }, 7 ], "atomic": true }""",
            ["messages[1].subject", "messages[2].to[1]", "messages[2].CC", "messages[3]", "atomic"] },
        { "POST", "/v1/webhooks", """{ "url": 5, "events": "all", "enabled": "yes" }""", ["url", "events", "enabled"] },
        { "POST", "/v1/webhooks", """{ "url": "https://hooks.example/mail", "events": ["message.sent", 3], "secret": "mine" }""", ["events[1]", "secret"] },
        { "PATCH", "/v1/webhooks/0193f1e2-7c1a-7b3e-9a55-6c1f1e0d2a11", """{ "description": [], "enabled": 1 }""", ["description", "enabled"] },
        { "PUT", "/v1/suppressions/bob@example.com", """{ "reason": 5, "expiresAt": "soon" }""", ["reason", "expiresAt"] },
        { "PUT", "/v1/suppressions/bob@example.com", """{ "reason": "manual", "expiresAt": 3, "note": "x" }""", ["expiresAt", "note"] },
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task Every_wrong_type_unknown_property_and_repeated_key_is_named(string method, string path, string body, string[] keys)
    {
        var client = service.Factory.ClientFor();
        var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        });

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {text}");
        var problem = JsonNode.Parse(text)!.AsObject();
        var errors = problem["errors"]!.AsObject();
        Assert.Equal(keys.Order(), errors.Select(e => e.Key).Order());
        Assert.All(errors, e => Assert.False(string.IsNullOrWhiteSpace((string?)e.Value![0]), text));
        Assert.DoesNotContain("System.", text);
        if (keys.Length > 1)
        {
            Assert.Equal($"{keys.Length} field(s) failed validation: {string.Join(", ", errors.Select(e => e.Key))}.", (string?)problem["detail"]);
        }
        Assert.Empty((await client.GetFromJsonAsync<JsonObject>("/v1/messages"))!["items"]!.AsArray());
        Assert.Empty((await client.GetFromJsonAsync<JsonObject>("/v1/webhooks"))!["items"]!.AsArray());
        Assert.Empty((await client.GetFromJsonAsync<JsonObject>("/v1/suppressions"))!["items"]!.AsArray());
    }

    [Fact]
    public async Task Each_error_says_what_the_value_must_be()
    {
        var body = """{ "from": "zotrim@domain.local", "to": ["a@domain.local"], "text": "t", "subject": 5, "cc": "b@domain.local", "sendAt": "soon", "headers": [], "priority": "high" }""";
        var response = await service.Factory.ClientFor().PostAsync("/v1/messages", new StringContent(body, Encoding.UTF8, "application/json"));

        var errors = (await response.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!.AsObject();
        Assert.Equal("'subject' must be a string.", (string?)errors["subject"]![0]);
        Assert.Equal("'cc' must be an array of strings.", (string?)errors["cc"]![0]);
        Assert.Equal("'sendAt' must be a time with an offset, such as 2026-12-01T10:00:00Z.", (string?)errors["sendAt"]![0]);
        Assert.Equal("'headers' must be an object whose values are strings.", (string?)errors["headers"]![0]);
        Assert.Equal("'priority' is not a property of this body; check its spelling (names are camelCase).", (string?)errors["priority"]![0]);
    }

    [Fact]
    public async Task A_webhook_flag_of_the_wrong_type_asks_for_true_or_false()
    {
        var body = """{ "url": "https://hooks.example/mail", "enabled": "yes" }""";
        var response = await service.Factory.ClientFor().PostAsync("/v1/webhooks", new StringContent(body, Encoding.UTF8, "application/json"));

        var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("'enabled' must be true or false.", (string?)problem["errors"]!["enabled"]![0]);
        Assert.Equal("'enabled' must be true or false.", (string?)problem["detail"]);
    }

    [Theory]
    [InlineData(""" "subject": "sXbject" """, "subject", "'subject' is not valid UTF-8.")]
    [InlineData(""" "subjeXt": "s" """, "", "The body has a property name that is not valid UTF-8.")]
    public async Task Invalid_utf8_in_a_value_or_a_name_is_named_beside_a_wrong_type(string field, string key, string error)
    {
        var bytes = Encoding.UTF8.GetBytes($$"""{ "from": 5, "to": ["a@domain.local"], "text": "t", {{field}} }""");
        bytes[Array.IndexOf(bytes, (byte)'X')] = 0xC3; // starts a two-byte sequence that the next byte does not continue
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");

        var response = await service.Factory.ClientFor().PostAsync("/v1/messages", content);

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {text}");
        var errors = JsonNode.Parse(text)!["errors"]!.AsObject();
        Assert.Equal(new[] { "from", key }.Order(), errors.Select(e => e.Key).Order());
        Assert.Equal(error, (string?)errors[key]![0]);
    }

    [Fact]
    public async Task A_body_with_more_than_a_hundred_wrong_values_lists_the_first_hundred()
    {
        var body = $$"""{ {{Valid}}, "bcc": [{{string.Join(", ", Enumerable.Range(0, 150))}}] }""";
        var response = await service.Factory.ClientFor().PostAsync("/v1/messages", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        var errors = problem["errors"]!.AsObject();
        Assert.Equal(100, errors.Count);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"bcc[{i}]"), errors.Select(e => e.Key));
        Assert.Equal("At least 100 fields are of the wrong type or unknown; the first 100 are listed.", (string?)problem["detail"]);
    }
}
