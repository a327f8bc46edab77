using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace MailApi.Tests.Webhooks;

/// <summary>The <c>/v1/webhooks</c> endpoints: create, list, get, update, delete, rotate; per key; input refused by field.</summary>
public sealed class WebhookEndpointsTests : IAsyncLifetime
{
    private MailApiFactory _factory = null!;
    private MailApiFactory _strict = null!;

    public ValueTask InitializeAsync()
    {
        _factory = new MailApiFactory(FreePort.Get(), new Dictionary<string, string?>
        {
            ["Webhooks:AllowHttp"] = "true",
            ["Webhooks:AllowPrivateTargets"] = "true",
        });
        // The defaults outside Development: https only, no private targets.
        _strict = new MailApiFactory(FreePort.Get());
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _strict.DisposeAsync();
    }

    private static async Task<JsonObject> CreateAsync(HttpClient client, JsonObject body)
    {
        var response = await client.PostAsJsonAsync("/v1/webhooks", body);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal($"/v1/webhooks/{created["id"]}", response.Headers.Location!.ToString());
        return created;
    }

    [Fact]
    public async Task Create_shows_the_secret_once_and_list_get_patch_delete_work()
    {
        var client = _factory.ClientFor();

        var created = await CreateAsync(client, new JsonObject { ["url"] = "http://127.0.0.1:9/hook", ["description"] = "orders" });
        var id = (string)created["id"]!;
        var secret = (string)created["secret"]!;
        Assert.StartsWith("whsec_", secret);
        Assert.Equal(32, Convert.FromBase64String(secret["whsec_".Length..]).Length);
        Assert.True((bool)created["enabled"]!);
        Assert.Contains("message.sent", created["events"]!.AsArray().Select(e => (string)e!));

        var got = (await client.GetFromJsonAsync<JsonObject>($"/v1/webhooks/{id}"))!;
        Assert.Null(got["secret"]);
        Assert.Equal("orders", (string)got["description"]!);
        var list = (await client.GetFromJsonAsync<JsonObject>("/v1/webhooks"))!["items"]!.AsArray();
        Assert.Single(list);
        Assert.Null(list[0]!["secret"]);

        var patched = await client.PatchAsJsonAsync($"/v1/webhooks/{id}",
            new JsonObject { ["events"] = new JsonArray("message.failed"), ["enabled"] = false, ["url"] = "http://127.0.0.1:10/other" });
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        var updated = (await patched.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(["message.failed"], updated["events"]!.AsArray().Select(e => (string)e!));
        Assert.False((bool)updated["enabled"]!);
        Assert.Equal("http://127.0.0.1:10/other", (string)updated["url"]!);
        Assert.Equal("orders", (string)updated["description"]!);

        var rotated = await client.PostAsync($"/v1/webhooks/{id}/rotate-secret", null);
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        var newSecret = (string)(await rotated.Content.ReadFromJsonAsync<JsonObject>())!["secret"]!;
        Assert.StartsWith("whsec_", newSecret);
        Assert.NotEqual(secret, newSecret);

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/webhooks/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/v1/webhooks/{id}")).StatusCode);
        Assert.Empty((await client.GetFromJsonAsync<JsonObject>("/v1/webhooks"))!["items"]!.AsArray());
    }

    [Fact]
    public async Task Another_keys_endpoint_is_404_everywhere_and_not_listed()
    {
        var id = (string)(await CreateAsync(_factory.ClientFor(), new JsonObject { ["url"] = "http://127.0.0.1:9/hook" }))["id"]!;
        var beta = _factory.ClientFor(MailApiFactory.BetaKey);

        var answers = new[]
        {
            await beta.GetAsync($"/v1/webhooks/{id}"),
            await beta.PatchAsJsonAsync($"/v1/webhooks/{id}", new JsonObject { ["enabled"] = false }),
            await beta.PostAsync($"/v1/webhooks/{id}/rotate-secret", null),
            await beta.PostAsync($"/v1/webhooks/{id}/test", null),
            await beta.GetAsync($"/v1/webhooks/{id}/deliveries"),
            await beta.PostAsync($"/v1/webhooks/{id}/deliveries/{Guid.NewGuid()}/retry", null),
            await beta.DeleteAsync($"/v1/webhooks/{id}"),
        };

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.NotFound, a.StatusCode));
        Assert.All(answers, a => Assert.Equal("application/problem+json", a.Content.Headers.ContentType!.MediaType));
        Assert.Empty((await beta.GetFromJsonAsync<JsonObject>("/v1/webhooks"))!["items"]!.AsArray());
        Assert.True((bool)(await _factory.ClientFor().GetFromJsonAsync<JsonObject>($"/v1/webhooks/{id}"))!["enabled"]!);
    }

    [Fact]
    public async Task Bad_input_is_400_naming_the_field_and_stores_nothing()
    {
        var client = _factory.ClientFor(MailApiFactory.BetaKey);

        var notUrl = await client.PostAsJsonAsync("/v1/webhooks", new JsonObject { ["url"] = "not a url" });
        var unknownEvent = await client.PostAsJsonAsync("/v1/webhooks",
            new JsonObject { ["url"] = "http://127.0.0.1:9/", ["events"] = new JsonArray("message.sent", "message.exploded") });
        var longDescription = await client.PostAsJsonAsync("/v1/webhooks",
            new JsonObject { ["url"] = "http://127.0.0.1:9/", ["description"] = new string('d', 2000) });
        var missing = await client.PostAsJsonAsync("/v1/webhooks", new JsonObject { ["description"] = "no url" });
        var wrongType = await client.PostAsJsonAsync("/v1/webhooks", new JsonObject { ["url"] = "http://127.0.0.1:9/", ["enabled"] = "yes" });

        Assert.Contains("url", await ErrorsAsync(notUrl));
        Assert.Contains("events[1]", await ErrorsAsync(unknownEvent));
        Assert.Contains("description", await ErrorsAsync(longDescription));
        Assert.Contains("url", await ErrorsAsync(missing));
        Assert.Contains("enabled", await ErrorsAsync(wrongType));
        Assert.Empty((await client.GetFromJsonAsync<JsonObject>("/v1/webhooks"))!["items"]!.AsArray());
    }

    [Fact]
    public async Task Http_and_private_targets_are_refused_unless_allowed()
    {
        var client = _strict.ClientFor();

        foreach (var url in (string[])["http://example.com/hook", "https://127.0.0.1/hook", "https://localhost/hook", "https://10.1.2.3/hook",
            "https://192.168.1.1/", "https://169.254.169.254/latest", "https://[::1]/", "https://[fd00::1]/", "https://[fe80::1]/", "https://224.0.0.1/"])
        {
            var response = await client.PostAsJsonAsync("/v1/webhooks", new JsonObject { ["url"] = url });
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{url} was {response.StatusCode}");
            Assert.Equal(["url"], await ErrorsAsync(response));
        }
        Assert.Empty((await client.GetFromJsonAsync<JsonObject>("/v1/webhooks"))!["items"]!.AsArray());
        // A public address literal passes the check (nothing is sent to it here).
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/v1/webhooks", new JsonObject { ["url"] = "https://93.184.215.14/hook" })).StatusCode);
    }

    [Fact]
    public async Task A_private_target_is_refused_again_when_sending()
    {
        // As if the name had resolved to a public address at creation and to a private one now (DNS rebinding): the
        // endpoint is stored as it is, and only the check on the connection stands between it and the receiver.
        using var receiver = new WebhookReceiver();
        var now = DateTimeOffset.UtcNow;
        var endpoint = new MailApi.Webhooks.StoredEndpoint
        {
            Id = Guid.CreateVersion7(),
            Owner = "alpha",
            Url = receiver.Url(),
            Events = MailApi.Webhooks.Events.MessageEvents.All,
            Secret = MailApi.Webhooks.WebhookSecret.New(),
            CreatedAt = now,
            UpdatedAt = now,
        };
        await _strict.Services.GetRequiredService<MailApi.Webhooks.IWebhookStore>().AddEndpointAsync(endpoint, CancellationToken.None);
        var client = _strict.ClientFor();

        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync($"/v1/webhooks/{endpoint.Id}/test", null)).StatusCode);

        JsonArray attempts = [];
        await Poll.UntilAsync(async () =>
        {
            var items = (await client.GetFromJsonAsync<JsonObject>($"/v1/webhooks/{endpoint.Id}/deliveries"))!["items"]!.AsArray();
            attempts = items[0]!["attempts"]!.AsArray();
            return attempts.Count > 0;
        }, TimeSpan.FromSeconds(30), () => "a first try of the test delivery");
        Assert.Contains("Refused", (string?)attempts[0]!["error"]);
        Assert.Null(attempts[0]!["statusCode"]);
        Assert.Empty(receiver.Requests());
    }

    private static async Task<string[]> ErrorsAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        return [.. (await response.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!.AsObject().Select(p => p.Key)];
    }
}
