using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using MailApi.Storage;
using MailApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace MailApi.Tests.Messages;

/// <summary>
/// What a careless or hostile caller sends: every such body is a 400 problem naming the field, in Production
/// and in Development alike, and stores nothing. The relay is a closed port: delivery is not under test here.
/// </summary>
public sealed class HostileInputTests(HostileInputTests.Services services) : IClassFixture<HostileInputTests.Services>
{
    /// <summary>The service as tests run it ("Testing", like Production) and as <c>dotnet run</c> does (Development).</summary>
    public sealed class Services : IDisposable
    {
        public MailApiFactory Testing { get; } = new(FreePort.Get());

        public MailApiFactory Development { get; } = new(FreePort.Get(), new Dictionary<string, string?> { ["DevRelay:Enabled"] = "false" }, "Development");

        public MailApiFactory For(string environment) => environment == "Development" ? Development : Testing;

        public HttpClient ClientFor(string environment) =>
            environment == "Development" ? Development.ClientFor("mailapi-dev-key") : Testing.ClientFor();

        public void Dispose()
        {
            Testing.Dispose();
            Development.Dispose();
        }
    }

    /// <summary>The fields of a valid message, to put inside braces.</summary>
    private const string Valid = "\"from\": \"zotrim@domain.local\", \"to\": [\"student@domain.local\"], \"subject\": \"s\", \"text\": \"t\"";

    /// <summary>A body with one field of the wrong JSON type (or a duplicate key), and the error key it must give.</summary>
    public static readonly TheoryData<string, string, string> WrongTypes = Cross(
        ("""{ "from": "zotrim@domain.local", "to": ["student@domain.local"], "subject": 5, "text": "t" }""", "subject"),
        ("""{ "from": "zotrim@domain.local", "to": {}, "subject": "s", "text": "t" }""", "to"),
        ("""{ "from": "zotrim@domain.local", "to": "student@domain.local", "subject": "s", "text": "t" }""", "to"),
        ("""{ "from": "zotrim@domain.local", "to": ["student@domain.local", 5], "subject": "s", "text": "t" }""", "to[1]"),
        ($$"""{ {{Valid}}, "headers": [] }""", "headers"),
        ($$"""{ {{Valid}}, "attachments": {} }""", "attachments"),
        ($$"""{ {{Valid}}, "sendAt": "tomorrow" }""", "sendAt"),
        ($$"""{ {{Valid}}, "metadata": { "userId": { "id": 42 } } }""", "metadata.userId"),
        ("""{ "from": true, "to": ["student@domain.local"], "subject": "s", "text": "t" }""", "from"),
        ($$"""{ {{Valid}}, "from": "mallory@domain.local" }""", "from"),
        ($$"""{ {{Valid}}, "headers": { "X-A": "1", "X-A": "2" } }""", "headers.X-A"));

    /// <summary>Bodies that are no message at all; their errors are keyed by the root path, "".</summary>
    public static readonly TheoryData<string, string, string> NoMessage = Cross(
        ("null", ""),
        ("", ""),
        ("[]", ""),
        ("""{ "from": "zotrim@domain.local", """, ""));

    private static TheoryData<string, string, string> Cross(params (string Body, string Key)[] cases)
    {
        var data = new TheoryData<string, string, string>();
        foreach (var environment in new[] { "Testing", "Development" })
        {
            foreach (var (body, key) in cases)
            {
                data.Add(environment, body, key);
            }
        }
        return data;
    }

    private async Task<long> PendingAsync(string environment) =>
        (await services.For(environment).Services.GetRequiredService<IMessageStore>().BacklogAsync(CancellationToken.None)).Messages;

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    /// <summary>A 400 problem+json with a detail whose <c>errors</c> name <paramref name="key"/>.</summary>
    private static async Task<JsonObject> AssertProblemNaming(HttpResponseMessage response, string key)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = JsonNode.Parse(text)!.AsObject();
        Assert.Equal(400, (int)problem["status"]!);
        Assert.False(string.IsNullOrWhiteSpace((string?)problem["detail"]), text);
        var errors = problem["errors"]!.AsObject();
        Assert.True(errors.ContainsKey(key), $"no error keyed '{key}' in {text}");
        Assert.False(string.IsNullOrWhiteSpace((string?)errors[key]![0]));
        return problem;
    }

    [Theory]
    [MemberData(nameof(WrongTypes))]
    public async Task Wrong_json_type_or_duplicate_key_is_400_naming_the_path(string environment, string body, string key)
    {
        var before = await PendingAsync(environment);

        var response = await services.ClientFor(environment).PostAsync("/v1/messages", Json(body));

        var problem = await AssertProblemNaming(response, key);
        Assert.DoesNotContain("System.", problem.ToJsonString());
        Assert.Equal(before, await PendingAsync(environment));
    }

    [Theory]
    [MemberData(nameof(NoMessage))]
    public async Task Null_empty_or_broken_body_is_400_problem(string environment, string body, string key)
    {
        var before = await PendingAsync(environment);

        var response = await services.ClientFor(environment).PostAsync("/v1/messages", Json(body));

        await AssertProblemNaming(response, key);
        Assert.Equal(before, await PendingAsync(environment));
    }

    [Theory]
    [InlineData("Testing")]
    [InlineData("Development")]
    public async Task Wrong_type_inside_a_batch_is_400_naming_the_message(string environment)
    {
        var before = await PendingAsync(environment);
        var body = $$"""{ "messages": [ { {{Valid}} }, { {{Valid}} }, { {{Valid}} }, { {{Valid}}, "tags": "one" }, { "subject": 5 } ] }""";

        var response = await services.ClientFor(environment).PostAsync("/v1/messages/batch", Json(body));

        await AssertProblemNaming(response, "messages[3].tags");
        Assert.Equal(before, await PendingAsync(environment));
    }

    [Theory]
    [InlineData("Testing")]
    [InlineData("Development")]
    public async Task Missing_content_type_is_400_and_another_type_is_415(string environment)
    {
        var client = services.ClientFor(environment);
        var untyped = new ByteArrayContent(Encoding.UTF8.GetBytes($"{{ {Valid} }}"));
        var latin1 = new ByteArrayContent(Encoding.Latin1.GetBytes($"{{ {Valid} }}"));
        latin1.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "iso-8859-1" };

        var missing = await client.PostAsync("/v1/messages", untyped);
        var plain = await client.PostAsync("/v1/messages", new StringContent($"{{ {Valid} }}", Encoding.UTF8, "text/plain"));
        var charset = await client.PostAsync("/v1/messages", latin1);

        await AssertProblemNaming(missing, "");
        foreach (var response in new[] { plain, charset })
        {
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
            var text = await response.Content.ReadAsStringAsync();
            Assert.False(string.IsNullOrWhiteSpace((string?)JsonNode.Parse(text)!["detail"]), text);
        }
    }

    [Theory]
    [InlineData("Testing", "createdAfter=tomorrow", "createdAfter")]
    [InlineData("Development", "createdAfter=tomorrow", "createdAfter")]
    [InlineData("Testing", "limit=abc", "limit")]
    [InlineData("Development", "limit=abc", "limit")]
    public async Task Unbindable_query_value_is_400_naming_the_parameter(string environment, string query, string key)
    {
        var response = await services.ClientFor(environment).GetAsync($"/v1/messages?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.NotNull(problem!["errors"]![key]);
        Assert.NotNull(problem["detail"]);
    }

    [Theory]
    [InlineData("Testing")]
    [InlineData("Development")]
    public async Task Invalid_utf8_in_a_value_is_400_problem(string environment)
    {
        var bytes = Encoding.UTF8.GetBytes($$"""{ {{Valid}}, "html": "<p>x</p>" }""");
        bytes[Array.IndexOf(bytes, (byte)'<') + 1] = 0xC3; // starts a two-byte sequence that the next byte does not continue
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        var response = await services.ClientFor(environment).PostAsync("/v1/messages", content);

        await AssertProblemNaming(response, "html");
    }
}
