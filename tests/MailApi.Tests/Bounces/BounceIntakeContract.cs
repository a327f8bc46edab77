using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using MailApi.Bounces;
using MailApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace MailApi.Tests.Bounces;

/// <summary>
/// Bounce reports through the running service, in memory and on PostgreSQL: a real Postfix DSN (from the fixture corpus,
/// its ids made this test message's) handed in over HTTP bounces each recipient it names by class, leaves the others
/// accepted, feeds the suppression list, and is logged once however often it comes; with a return path only a verified
/// token changes anything.
/// </summary>
public abstract class BounceIntakeContract : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>The ids the fixture was produced with, replaced by this test's.</summary>
    private const string FixtureEnvelopeId = "0193f1e4-0001-79aa-8c11-d2e3f4a5b6c7";
    private const string FixtureQueueId = "06188B549D1";
    private const string FixtureMessageId = "<179662791500.3876.10395721817327828971.0193f1e4@shop.example>";

    private TestSmtpServer _relay = null!;

    protected abstract Task<Dictionary<string, string?>> SettingsAsync();

    public async ValueTask InitializeAsync() => _relay = await TestSmtpServer.StartAsync();

    public async ValueTask DisposeAsync() => await _relay.DisposeAsync();

    private async Task<MailApiFactory> FactoryAsync(Dictionary<string, string?>? more = null)
    {
        var settings = await SettingsAsync();
        settings["Auth:ApiKeys:0:Bounces"] = "true";
        foreach (var (key, value) in more ?? [])
        {
            settings[key] = value;
        }
        return new MailApiFactory(_relay.Port, settings);
    }

    internal static async Task<JsonObject> SentAsync(HttpClient client, params string[] to)
    {
        var response = await client.PostAsJsonAsync("/v1/messages", Bodies.Valid(to));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
        return await MailApiFactory.WaitForStatusAsync(client, id, Patience, "sent");
    }

    /// <summary>Postfix's DSN for alice@hard.test (5.1.1), dave@full.test (5.2.2) and carol@policy.test (5.7.1), as this message's.</summary>
    internal static string Dsn(JsonObject message, bool withEnvelopeId = true)
    {
        var text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Bounces", "Fixtures", "postfix-three-recipients.eml"))
            .Replace(FixtureQueueId, (string)message["queueId"]!, StringComparison.Ordinal)
            .Replace(FixtureEnvelopeId, (string)message["id"]!, StringComparison.Ordinal)
            .Replace(FixtureMessageId, (string)message["messageId"]!, StringComparison.Ordinal);
        return withEnvelopeId ? text : string.Join('\n', text.Split('\n').Where(l => !l.StartsWith("Original-Envelope-Id:", StringComparison.Ordinal)));
    }

    private static async Task<JsonObject> PostAsync(HttpClient client, string mail, string? to = null)
    {
        var response = await client.PostAsync("/v1/bounces" + (to is null ? "" : "?to=" + Uri.EscapeDataString(to)),
            new StringContent(mail, Encoding.UTF8, BouncesApi.MediaType));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    internal static JsonObject Recipient(JsonObject message, string address) =>
        message["recipients"]!.AsArray().Single(r => (string?)r!["address"] == address)!.AsObject();

    [Fact]
    public async Task A_postfix_dsn_bounces_each_recipient_it_names_by_class_and_the_ok_one_stays_accepted()
    {
        using var factory = await FactoryAsync();
        var client = factory.ClientFor();
        var sent = await SentAsync(client, "alice@hard.test", "ok@domain.local", "dave@full.test", "carol@policy.test");

        var report = await PostAsync(client, Dsn(sent));

        Assert.Equal(("envelope_id", (string?)sent["id"]), ((string?)report["matchedBy"], (string?)report["messageId"]));
        Assert.Equal("dsn", (string?)report["kind"]);
        var message = (await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{sent["id"]}"))!;
        Assert.Equal("partially_sent", (string?)message["status"]);
        Assert.Equal("accepted", (string?)Recipient(message, "ok@domain.local")["status"]);
        foreach (var (address, status, bounceClass) in new[] { ("alice@hard.test", "5.1.1", "hard"), ("dave@full.test", "5.2.2", "soft"), ("carol@policy.test", "5.7.1", "policy") })
        {
            var recipient = Recipient(message, address);
            Assert.Equal("bounced", (string?)recipient["status"]);
            var bounce = recipient["bounce"]!;
            Assert.Equal(("failed", status, bounceClass), ((string?)bounce["action"], (string?)bounce["status"], (string?)bounce["class"]));
            Assert.Equal((string?)report["id"], (string?)bounce["reportId"]);
            Assert.Equal("relay.mailapi.test", (string?)bounce["reportingMta"]);
            Assert.StartsWith("smtp; 5", (string?)bounce["diagnostic"]);
            // Still what the relay said in the dialogue: the bounce is beside the RCPT reply, not instead of it.
            Assert.Equal(250, (int?)recipient["reply"]!["code"]);
        }
        var events = (await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{sent["id"]}/events"))!["items"]!.AsArray();
        Assert.Equal(["message.sent", "message.bounced"], events.Select(e => (string)e!["type"]!));
        Assert.Equal("partially_sent", (string?)events[1]!["data"]!["status"]);
        Assert.Equal("hard", (string?)events[1]!["data"]!["recipients"]!.AsArray().Single(r => (string?)r!["address"] == "alice@hard.test")!["bounce"]!["class"]);

        // Only the hard bounce suppresses: the full mailbox and the policy refusal say nothing against the address.
        var suppressed = (await client.GetFromJsonAsync<JsonObject>("/v1/suppressions"))!["items"]!.AsArray();
        Assert.Equal(["alice@hard.test"], suppressed.Select(e => (string)e!["address"]!));
        Assert.Equal(("hard_bounce", "5.1.1"), ((string?)suppressed[0]!["reason"], (string?)suppressed[0]!["source"]!["status"]));

        // The same report again (read twice) is the same report, and changes nothing twice.
        var again = await PostAsync(client, Dsn(sent));
        Assert.Equal((string?)report["id"], (string?)again["id"]);
        Assert.Single((await client.GetFromJsonAsync<JsonObject>("/v1/bounces"))!["items"]!.AsArray());
        Assert.Equal(2, (await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{sent["id"]}/events"))!["items"]!.AsArray().Count);
        Assert.StartsWith("Return-Path: <>", await client.GetStringAsync($"/v1/bounces/{report["id"]}/raw"));
    }

    [Fact]
    public async Task Without_an_envelope_id_the_relays_queue_id_matches_and_a_report_for_every_recipient_bounces_the_message()
    {
        using var factory = await FactoryAsync();
        var client = factory.ClientFor();
        var sent = await SentAsync(client, "alice@hard.test", "dave@full.test");

        var report = await PostAsync(client, Dsn(sent, withEnvelopeId: false));

        Assert.Equal("queue_id", (string?)report["matchedBy"]);
        var message = (await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{sent["id"]}"))!;
        Assert.Equal("bounced", (string?)message["status"]);
    }

    [Fact]
    public async Task A_report_that_matches_no_message_or_is_no_report_is_logged_unmatched_and_changes_nothing()
    {
        using var factory = await FactoryAsync();
        var client = factory.ClientFor();
        var sent = await SentAsync(client, "alice@hard.test");
        var foreign = Dsn(sent).Replace((string)sent["id"]!, Guid.CreateVersion7().ToString(), StringComparison.Ordinal)
            .Replace((string)sent["queueId"]!, "FFFFFFFFFF", StringComparison.Ordinal);
        const string vacation = "From: Alice <alice@hard.test>\r\nTo: zotrim@domain.local\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\n"
            + "Message-ID: <vacation.1@hard.test>\r\n\r\nI am away until Monday.\r\n";

        var unmatched = await PostAsync(client, foreign);
        var autoReply = await PostAsync(client, vacation);
        var broken = await PostAsync(client, "Subject: x\r\nContent-Type: multipart/report; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nno end");

        Assert.All(new[] { unmatched, autoReply, broken }, r => Assert.Null(r["matchedBy"]));
        Assert.Contains("no message matched", (string?)unmatched["reason"]);
        Assert.Equal("other", (string?)autoReply["kind"]);
        Assert.NotNull((string?)autoReply["reason"]);
        Assert.NotNull((string?)broken["reason"]);
        Assert.Equal("sent", (string?)(await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{sent["id"]}"))!["status"]);
        Assert.Equal(3, (await client.GetFromJsonAsync<JsonObject>("/v1/bounces?matched=false"))!["items"]!.AsArray().Count);
        Assert.Empty((await client.GetFromJsonAsync<JsonObject>("/v1/bounces?matched=true"))!["items"]!.AsArray());
        Assert.Empty((await client.GetFromJsonAsync<JsonObject>("/v1/suppressions"))!["items"]!.AsArray());
    }

    [Fact]
    public async Task With_a_return_path_only_a_verified_token_matches_and_keys_that_disagree_change_nothing()
    {
        using var factory = await FactoryAsync(new()
        {
            ["Bounces:Enabled"] = "true",
            ["Bounces:ReturnPath"] = "bounces+{token}@mailapi.test",
            ["Bounces:TokenSecret"] = "a-secret-of-at-least-thirty-two-bytes!",
        });
        var client = factory.ClientFor();
        var first = await SentAsync(client, "alice@hard.test");
        var second = await SentAsync(client, "alice@hard.test");
        var tokens = factory.Services.GetRequiredService<BounceTokens>();
        var returnPath = tokens.ReturnPathFor(Guid.Parse((string)first["id"]!))!;
        // The relay got the token return path as MAIL FROM.
        Assert.Equal(returnPath, _relay.Messages[0].From);
        Assert.True(returnPath.Split('@')[0].Length <= 64);

        // A forged token (one character changed) and no token at all: unmatched, with no fallback to the envelope id.
        var forged = returnPath[..^("@mailapi.test".Length + 1)] + (returnPath[^("@mailapi.test".Length + 1)] == 'a' ? "b" : "a") + "@mailapi.test";
        var bad = await PostAsync(client, Dsn(first), forged);
        var none = await PostAsync(client, Dsn(first).Replace("Message-Id: <", "Message-Id: <none.", StringComparison.Ordinal), "bounces@mailapi.test");
        Assert.Contains("no verified token", (string?)bad["reason"]);
        Assert.Contains("no verified token", (string?)none["reason"]);
        // A verified token whose report names another message by its envelope id.
        var disagreeing = await PostAsync(client, Dsn(second).Replace("Message-Id: <", "Message-Id: <other.", StringComparison.Ordinal), returnPath);
        Assert.Contains("keys disagree", (string?)disagreeing["reason"]);
        Assert.Equal("sent", (string?)(await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{first["id"]}"))!["status"]);
        Assert.Equal("sent", (string?)(await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{second["id"]}"))!["status"]);

        var verified = await PostAsync(client, Dsn(first).Replace("Message-Id: <", "Message-Id: <verified.", StringComparison.Ordinal), returnPath);
        Assert.Equal("verp", (string?)verified["matchedBy"]);
        Assert.Equal("bounced", (string?)(await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{first["id"]}"))!["status"]);
        Assert.Equal("sent", (string?)(await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{second["id"]}"))!["status"]);
    }

    [Fact]
    public async Task A_report_that_comes_before_the_relays_250_is_recorded_is_refused_for_now_and_taken_whole_later()
    {
        using var factory = await FactoryAsync();
        var client = factory.ClientFor();
        _relay.HoldFinalReplies();
        var response = await client.PostAsJsonAsync("/v1/messages", Bodies.Valid("ok@domain.local", "alice@hard.test"));
        var created = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        await _relay.WaitForHeldRepliesAsync(1, Patience);

        // Postfix bounces within a second of its 250: the report is here while the message is still being sent.
        var early = created.DeepClone().AsObject();
        early["queueId"] = FixtureQueueId;
        var tooEarly = await client.PostAsync("/v1/bounces", new StringContent(Dsn(early), Encoding.UTF8, BouncesApi.MediaType));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, tooEarly.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(5), tooEarly.Headers.RetryAfter?.Delta);
        Assert.Empty((await client.GetFromJsonAsync<JsonObject>("/v1/bounces"))!["items"]!.AsArray());

        _relay.ReleaseFinalReplies();
        await MailApiFactory.WaitForStatusAsync(client, (string)created["id"]!, Patience, "partially_sent", "sent");
        await PostAsync(client, Dsn(early));
        var message = await MailApiFactory.WaitForStatusAsync(client, (string)created["id"]!, Patience, "partially_sent");

        Assert.Equal("bounced", (string?)Recipient(message, "alice@hard.test")["status"]);
        Assert.Equal("accepted", (string?)Recipient(message, "ok@domain.local")["status"]);
    }

    [Fact]
    public async Task A_report_over_the_size_limit_is_a_413_and_a_key_without_bounces_is_refused()
    {
        using var factory = await FactoryAsync();
        var huge = "Subject: big\r\n\r\n" + new string('x', 5 * 1024 * 1024);
        var response = await factory.ClientFor().PostAsync("/v1/bounces", new StringContent(huge, Encoding.UTF8, BouncesApi.MediaType));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var beta = factory.ClientFor(MailApiFactory.BetaKey);
        Assert.Equal(HttpStatusCode.Forbidden, (await beta.PostAsync("/v1/bounces", new StringContent("Subject: x\r\n\r\n", Encoding.UTF8, BouncesApi.MediaType))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await beta.GetAsync("/v1/bounces")).StatusCode);
        Assert.Empty((await factory.ClientFor().GetFromJsonAsync<JsonObject>("/v1/bounces"))!["items"]!.AsArray());
    }
}

public sealed class InMemoryBounceIntakeTests : BounceIntakeContract
{
    protected override Task<Dictionary<string, string?>> SettingsAsync() => Task.FromResult(new Dictionary<string, string?>());
}

[Trait("Category", "PostgreSql")]
public sealed class PostgreSqlBounceIntakeTests : BounceIntakeContract
{
    protected override async Task<Dictionary<string, string?>> SettingsAsync() => new()
    {
        ["Storage:Provider"] = "PostgreSql",
        ["Storage:ConnectionString"] = await Postgres.CreateDatabaseAsync(),
    };
}
