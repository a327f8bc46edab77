using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace MailApi.Tests.Suppressions;

/// <summary>
/// The suppression list through the running service, against a real SMTP server, in memory and on PostgreSQL: what feeds
/// it, what it does at send time, the endpoints, each key's own list, and its events at a real webhook receiver.
/// </summary>
public abstract class SuppressionContract : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private TestSmtpServer _relay = null!;
    private MailApiFactory _factory = null!;

    protected abstract Task<Dictionary<string, string?>> SettingsAsync();

    public async ValueTask InitializeAsync()
    {
        _relay = await TestSmtpServer.StartAsync();
        var settings = await SettingsAsync();
        settings["Webhooks:AllowHttp"] = "true";
        settings["Webhooks:AllowPrivateTargets"] = "true";
        // Enough retries a second apart that a deferred recipient is still being retried whenever the test acts.
        for (var i = 0; i < 60; i++)
        {
            settings[$"Delivery:RetryDelays:{i}"] = "00:00:01";
        }
        _factory = new MailApiFactory(_relay.Port, settings);
    }

    public async ValueTask DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _relay.DisposeAsync();
    }

    private HttpClient Alpha => _factory.ClientFor(MailApiFactory.AlphaKey);

    private static async Task<JsonObject> AcceptedAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private async Task<JsonObject> SendAsync(params string[] to) => await AcceptedAsync(await Alpha.PostAsJsonAsync("/v1/messages", Bodies.Valid(to)));

    private static Task<HttpResponseMessage> PutAsync(HttpClient client, string address, JsonObject? body = null) =>
        client.PutAsJsonAsync($"/v1/suppressions/{Uri.EscapeDataString(address)}", body ?? []);

    private static JsonObject Recipient(JsonObject message, string address) =>
        message["recipients"]!.AsArray().Single(r => string.Equals((string?)r!["address"], address, StringComparison.OrdinalIgnoreCase))!.AsObject();

    private static async Task<string[]> ErrorKeysAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        return [.. (await response.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!.AsObject().Select(p => p.Key)];
    }

    private async Task<JsonArray> ListAsync(HttpClient client, string query = "") =>
        (await client.GetFromJsonAsync<JsonObject>("/v1/suppressions" + query))!["items"]!.AsArray();

    [Fact]
    public async Task A_550_5_1_1_at_rcpt_suppresses_the_address_and_the_next_message_never_offers_it()
    {
        _relay.RejectRecipient("gone@domain.local");
        _relay.RejectRecipient("blocked@domain.local", 550, "5.7.1 <blocked@domain.local>: Recipient address rejected: Access denied");
        // blocked before gone: once gone's entry exists, blocked was judged too (the list is fed after the outcome is stored).
        var first = await SendAsync("student@domain.local", "blocked@domain.local", "gone@domain.local");
        await MailApiFactory.WaitForStatusAsync(Alpha, (string)first["id"]!, Patience, "partially_sent");
        await Poll.UntilAsync(async () => (await Alpha.GetAsync("/v1/suppressions/gone@domain.local")).IsSuccessStatusCode, Patience,
            () => "gone@domain.local to be suppressed");

        var entry = (await Alpha.GetFromJsonAsync<JsonObject>("/v1/suppressions/gone@domain.local"))!;
        Assert.Equal("rejected", (string?)entry["reason"]);
        Assert.Equal((string)first["id"]!, (string?)entry["source"]!["messageId"]);
        Assert.Equal("5.1.1", (string?)entry["source"]!["status"]);
        Assert.Contains("550 5.1.1", (string?)entry["source"]!["diagnostic"]);
        Assert.Contains("User unknown", (string?)entry["source"]!["diagnostic"]);
        Assert.Null(entry["expiresAt"]);
        // 5.7.1 is policy: the address is fine, the sender was refused.
        Assert.Equal(HttpStatusCode.NotFound, (await Alpha.GetAsync("/v1/suppressions/blocked@domain.local")).StatusCode);
        Assert.Single(_relay.RecipientsOffered, a => a == "gone@domain.local");

        var second = await SendAsync("student@domain.local", "Gone@Domain.Local");
        var gone = Recipient(second, "gone@domain.local");
        Assert.Equal("suppressed", (string?)gone["status"]);
        Assert.Equal("rejected", (string?)gone["suppression"]!["reason"]);
        Assert.Equal((string?)entry["createdAt"], (string?)gone["suppression"]!["since"]);
        Assert.Equal("pending", (string?)Recipient(second, "student@domain.local")["status"]);

        var done = await MailApiFactory.WaitForStatusAsync(Alpha, (string)second["id"]!, Patience, "partially_sent", "sent", "failed");
        Assert.Equal("partially_sent", (string?)done["status"]);
        Assert.Equal("suppressed", (string?)Recipient(done, "gone@domain.local")["status"]);
        Assert.Equal("accepted", (string?)Recipient(done, "student@domain.local")["status"]);
        Assert.Single(_relay.RecipientsOffered, a => string.Equals(a, "gone@domain.local", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(["student@domain.local"], _relay.Messages[^1].Recipients);
        Assert.DoesNotContain(done["attempts"]![0]!["transcript"]!.AsArray(), e => ((string?)e!["command"] ?? "").Contains("gone@", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task A_message_whose_every_recipient_is_suppressed_is_failed_at_once_without_a_connection()
    {
        Assert.Equal(HttpStatusCode.Created, (await PutAsync(Alpha, "a@domain.local")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await PutAsync(Alpha, "b@domain.local")).StatusCode);

        var batch = new JsonObject { ["messages"] = new JsonArray(Bodies.Valid("a@domain.local", "b@domain.local"), Bodies.Valid("c@domain.local")) };
        var items = (await AcceptedAsync(await Alpha.PostAsJsonAsync("/v1/messages/batch", batch)))["items"]!.AsArray();

        var failed = items[0]!.AsObject();
        Assert.Equal("failed", (string?)failed["status"]);
        Assert.All(failed["recipients"]!.AsArray(), r => Assert.Equal("suppressed", (string?)r!["status"]));
        Assert.All(failed["recipients"]!.AsArray(), r => Assert.Equal("manual", (string?)r!["suppression"]!["reason"]));
        await MailApiFactory.WaitForStatusAsync(Alpha, (string)items[1]!["id"]!, Patience, "sent");
        await _factory.WaitUntilIdleAsync(Patience);

        var stored = (await Alpha.GetFromJsonAsync<JsonObject>($"/v1/messages/{failed["id"]}"))!;
        Assert.Equal("failed", (string?)stored["status"]);
        Assert.Empty(stored["attempts"]!.AsArray());
        var events = (await Alpha.GetFromJsonAsync<JsonObject>($"/v1/messages/{failed["id"]}/events"))!["items"]!.AsArray();
        Assert.Equal(["message.failed"], events.Select(e => (string)e!["type"]!));
        // The one connection is the other message's: the suppressed message made none and offered no one.
        Assert.Equal(1, _relay.ConnectionCount);
        Assert.Equal(["c@domain.local"], _relay.RecipientsOffered);
    }

    [Fact]
    public async Task Deleting_an_entry_lets_the_address_be_mailed_again()
    {
        await PutAsync(Alpha, "back@domain.local");
        Assert.Equal("failed", (string?)(await SendAsync("back@domain.local"))["status"]);

        Assert.Equal(HttpStatusCode.NoContent, (await Alpha.DeleteAsync("/v1/suppressions/BACK@domain.local")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Alpha.DeleteAsync("/v1/suppressions/back@domain.local")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Alpha.GetAsync("/v1/suppressions/back@domain.local")).StatusCode);

        var again = await SendAsync("back@domain.local");
        await MailApiFactory.WaitForStatusAsync(Alpha, (string)again["id"]!, Patience, "sent");
        Assert.Equal(["back@domain.local"], _relay.Messages.Single().Recipients);
    }

    [Fact]
    public async Task Each_key_has_its_own_list_that_no_other_key_sees_or_obeys()
    {
        var beta = _factory.ClientFor(MailApiFactory.BetaKey);
        await PutAsync(Alpha, "shared@domain.local");

        Assert.Empty(await ListAsync(beta));
        Assert.Equal(HttpStatusCode.NotFound, (await beta.GetAsync("/v1/suppressions/shared@domain.local")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await beta.DeleteAsync("/v1/suppressions/shared@domain.local")).StatusCode);
        var sent = await AcceptedAsync(await beta.PostAsJsonAsync("/v1/messages", Bodies.Valid("shared@domain.local")));
        await MailApiFactory.WaitForStatusAsync(beta, (string)sent["id"]!, Patience, "sent");

        Assert.Single(await ListAsync(Alpha));
        Assert.Equal("failed", (string?)(await SendAsync("shared@domain.local"))["status"]);
    }

    [Fact]
    public async Task Every_spelling_of_an_address_is_one_entry()
    {
        var created = await PutAsync(Alpha, "Bob@Bücher.Test");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("bob@xn--bcher-kva.test", (string?)(await created.Content.ReadFromJsonAsync<JsonObject>())!["address"]);
        Assert.Equal("/v1/suppressions/bob%40xn--bcher-kva.test", created.Headers.Location!.OriginalString);

        var replaced = await PutAsync(Alpha, "BOB@xn--BCHER-kva.test", new JsonObject { ["reason"] = "hard_bounce" });
        Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);
        Assert.Equal("hard_bounce", (string?)(await Alpha.GetFromJsonAsync<JsonObject>("/v1/suppressions/bob@b%C3%BCcher.test"))!["reason"]);
        Assert.Single(await ListAsync(Alpha));

        var message = await SendAsync("bob@bücher.test");
        Assert.Equal("failed", (string?)message["status"]);
        Assert.Equal("hard_bounce", (string?)Recipient(message, "bob@bücher.test")["suppression"]!["reason"]);
    }

    [Fact]
    public async Task The_list_filters_by_reason_and_domain_and_pages_newest_first()
    {
        await PutAsync(Alpha, "one@a.example");
        await PutAsync(Alpha, "two@a.example", new JsonObject { ["reason"] = "complaint" });
        await PutAsync(Alpha, "three@b.example");

        Assert.Equal(["two@a.example"], (await ListAsync(Alpha, "?reason=complaint")).Select(e => (string)e!["address"]!));
        Assert.Equal(["two@a.example", "one@a.example"], (await ListAsync(Alpha, "?address=@A.example")).Select(e => (string)e!["address"]!));
        Assert.Equal(["three@b.example"], (await ListAsync(Alpha, "?address=Three@b.example")).Select(e => (string)e!["address"]!));

        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = (await Alpha.GetFromJsonAsync<JsonObject>("/v1/suppressions?limit=2" + (cursor is null ? "" : "&cursor=" + cursor)))!;
            seen.AddRange(page["items"]!.AsArray().Select(e => (string)e!["address"]!));
            cursor = (string?)page["nextCursor"];
        }
        while (cursor is not null);
        Assert.Equal(["three@b.example", "two@a.example", "one@a.example"], seen);
    }

    [Fact]
    public async Task An_entry_past_its_expiry_no_longer_suppresses_nor_is_listed()
    {
        // A second ahead; on a machine so loaded that the second has passed when the request is read (a 400), more.
        var created = false;
        foreach (var seconds in (int[])[1, 5, 20])
        {
            var body = new JsonObject { ["expiresAt"] = DateTimeOffset.UtcNow.AddSeconds(seconds).ToString("O") };
            if (created = (await PutAsync(Alpha, "brief@domain.local", body)).StatusCode == HttpStatusCode.Created)
            {
                break;
            }
        }
        Assert.True(created);

        await Poll.UntilAsync(async () => (await Alpha.GetAsync("/v1/suppressions/brief@domain.local")).StatusCode == HttpStatusCode.NotFound,
            Patience, () => "the entry to expire");
        Assert.Empty(await ListAsync(Alpha));
        var message = await SendAsync("brief@domain.local");
        await MailApiFactory.WaitForStatusAsync(Alpha, (string)message["id"]!, Patience, "sent");
        // A new entry for an expired one's address is new again.
        Assert.Equal(HttpStatusCode.Created, (await PutAsync(Alpha, "brief@domain.local")).StatusCode);
    }

    [Fact]
    public async Task Bad_input_is_a_400_naming_the_field_and_changes_nothing()
    {
        Assert.Equal(["address"], await ErrorKeysAsync(await PutAsync(Alpha, "not-an-address")));
        Assert.Equal(["address"], await ErrorKeysAsync(await PutAsync(Alpha, "Bob <bob@domain.local>")));
        Assert.Equal(["reason"], await ErrorKeysAsync(await PutAsync(Alpha, "x@domain.local", new JsonObject { ["reason"] = "spam" })));
        Assert.Equal(["expiresAt"], await ErrorKeysAsync(await PutAsync(Alpha, "x@domain.local",
            new JsonObject { ["expiresAt"] = DateTimeOffset.UtcNow.AddDays(-1).ToString("O") })));
        Assert.Equal(["priority"], await ErrorKeysAsync(await PutAsync(Alpha, "x@domain.local", new JsonObject { ["priority"] = "high" })));
        Assert.Equal(["reason"], await ErrorKeysAsync(await Alpha.GetAsync("/v1/suppressions?reason=spam")));
        Assert.Equal(["address"], await ErrorKeysAsync(await Alpha.GetAsync("/v1/suppressions?address=nobody")));
        Assert.Equal(["address"], await ErrorKeysAsync(await Alpha.DeleteAsync("/v1/suppressions/nobody")));

        Assert.Empty(await ListAsync(Alpha));
    }

    [Fact]
    public async Task A_retry_does_not_offer_a_recipient_suppressed_meanwhile()
    {
        _relay.DeferRecipient("busy@domain.local");
        var message = await SendAsync("student@domain.local", "busy@domain.local");
        await MailApiFactory.WaitForStatusAsync(Alpha, (string)message["id"]!, Patience, "deferred");

        Assert.Equal(HttpStatusCode.Created, (await PutAsync(Alpha, "busy@domain.local")).StatusCode);

        var done = await MailApiFactory.WaitForStatusAsync(Alpha, (string)message["id"]!, Patience, "partially_sent", "failed", "sent");
        Assert.Equal("partially_sent", (string?)done["status"]);
        Assert.Equal("accepted", (string?)Recipient(done, "student@domain.local")["status"]);
        Assert.Equal("suppressed", (string?)Recipient(done, "busy@domain.local")["status"]);
        // Every dialogue offered it (each deferred it); the step that found it suppressed made none.
        Assert.Equal(done["attempts"]!.AsArray().Count, _relay.RecipientsOffered.Count(a => a == "busy@domain.local"));
    }

    [Fact]
    public async Task Entries_made_and_removed_are_events_at_the_keys_webhook_endpoints()
    {
        using var receiver = new WebhookReceiver();
        receiver.Server.Given(Request.Create().WithPath("/hook").UsingPost()).RespondWith(Response.Create().WithStatusCode(204));
        var created = await Alpha.PostAsJsonAsync("/v1/webhooks", new JsonObject
        {
            ["url"] = receiver.Url(),
            ["events"] = new JsonArray("suppression.created", "suppression.deleted"),
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var secret = (string)(await created.Content.ReadFromJsonAsync<JsonObject>())!["secret"]!;
        _relay.RejectRecipient("gone@domain.local");

        var failed = await SendAsync("gone@domain.local");
        await MailApiFactory.WaitForStatusAsync(Alpha, (string)failed["id"]!, Patience, "failed");
        await receiver.WaitForAsync(1);
        await PutAsync(Alpha, "manual@domain.local");
        await receiver.WaitForAsync(2);
        await Alpha.DeleteAsync("/v1/suppressions/manual@domain.local");
        // Another key's changes never reach this key's endpoint.
        await PutAsync(_factory.ClientFor(MailApiFactory.BetaKey), "beta@domain.local");

        var requests = await receiver.WaitForAsync(3);
        var events = requests.Select(r => r.Json).ToList();
        Assert.All(requests, r => Assert.True(r.VerifiesWith(secret)));
        Assert.Equal(["suppression.created", "suppression.created", "suppression.deleted"], events.Select(e => (string)e["type"]!));
        Assert.Equal(("gone@domain.local", "rejected"), ((string)events[0]["data"]!["address"]!, (string)events[0]["data"]!["reason"]!));
        Assert.Equal((string)failed["id"]!, (string?)events[0]["data"]!["source"]!["messageId"]);
        Assert.Equal(("manual@domain.local", "manual"), ((string)events[1]["data"]!["address"]!, (string)events[1]["data"]!["reason"]!));
        Assert.Equal("manual@domain.local", (string?)events[2]["data"]!["address"]);
        await _factory.WaitUntilIdleAsync(Patience);
        Assert.Equal(3, receiver.Requests().Count);
    }
}

public sealed class InMemorySuppressionTests : SuppressionContract
{
    protected override Task<Dictionary<string, string?>> SettingsAsync() => Task.FromResult(new Dictionary<string, string?>());
}

[Trait("Category", "PostgreSql")]
public sealed class PostgreSqlSuppressionTests : SuppressionContract
{
    protected override async Task<Dictionary<string, string?>> SettingsAsync() => new()
    {
        ["Storage:Provider"] = "PostgreSql",
        ["Storage:ConnectionString"] = await Postgres.CreateDatabaseAsync(),
    };
}
