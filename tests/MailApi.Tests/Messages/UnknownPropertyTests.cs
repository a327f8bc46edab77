using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;

namespace MailApi.Tests.Messages;

/// <summary>A property no body has is a 400 naming its path, in every request body: a typo fails instead of being dropped.</summary>
public sealed class UnknownPropertyTests : IAsyncLifetime
{
    private TestSmtpServer _relay = null!;
    private MailApiFactory _factory = null!;

    public async ValueTask InitializeAsync()
    {
        _relay = await TestSmtpServer.StartAsync();
        _factory = new MailApiFactory(_relay.Port, new Dictionary<string, string?> { ["Webhooks:AllowPrivateTargets"] = "true" });
    }

    public async ValueTask DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _relay.DisposeAsync();
    }

    public static TheoryData<string, string, string> Bodies() => new()
    {
        { "/v1/messages", """{ "from": "zotrim@domain.local", "to": ["a@domain.local"], "subject": "s", "text": "t", "priority": "high" }""", "priority" },
        { "/v1/messages", """{ "from": "zotrim@domain.local", "to": ["a@domain.local"], "subject": "s", "text": "t", "reply_to": ["b@domain.local"] }""", "reply_to" },
        { "/v1/messages", """{ "from": "zotrim@domain.local", "to": ["a@domain.local"], "CC": ["b@domain.local"], "subject": "s", "text": "t" }""", "CC" },
        { "/v1/messages", """{ "from": "zotrim@domain.local", "to": ["a@domain.local"], "subject": "s", "text": "t", "attachments": [ { "filename": "a.txt", "content": "aGk=", "inline": true } ] }""", "attachments[0].inline" },
        { "/v1/messages/batch", """{ "messages": [ { "from": "zotrim@domain.local", "to": ["a@domain.local"], "subject": "s", "text": "t", "sendat": "2030-01-01T00:00:00Z" } ] }""", "messages[0].sendat" },
        { "/v1/messages/batch", """{ "messages": [], "atomic": true }""", "atomic" },
        { "/v1/webhooks", """{ "url": "https://hooks.example/mail", "secret": "mine" }""", "secret" },
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task An_unknown_property_is_a_400_naming_its_path_and_nothing_is_stored(string path, string body, string key)
    {
        var client = _factory.ClientFor();
        var response = await client.PostAsync(path, new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        var error = Assert.Single(problem["errors"]!.AsObject());
        Assert.Equal(key, error.Key);
        Assert.Contains("is not a property of this body", (string?)error.Value![0]);
        Assert.Empty((await client.GetFromJsonAsync<JsonObject>("/v1/messages"))!["items"]!.AsArray());
        Assert.Empty((await client.GetFromJsonAsync<JsonObject>("/v1/webhooks"))!["items"]!.AsArray());
    }

    [Fact]
    public async Task Headers_and_metadata_take_any_name()
    {
        var body = """{ "from": "zotrim@domain.local", "to": ["a@domain.local"], "subject": "s", "text": "t", "headers": { "X-Priority": "1" }, "metadata": { "anything": "x" } }""";
        var response = await _factory.ClientFor().PostAsync("/v1/messages", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }
}
