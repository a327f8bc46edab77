using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MailApi.Tests.Infrastructure;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using static MailApi.Tests.Bounces.BounceIntakeContract;

namespace MailApi.Tests.Bounces;

/// <summary>
/// Bounces after the relay's 250, end to end, in memory and on PostgreSQL: the service on a real port sends through a
/// real Postfix (a relay of the test's own, tests/relays/postfix.sh) with a token return path; Postfix relays the test
/// domains to a server that refuses them at RCPT, writes its own DSNs, and hands them to the service through the pipe
/// example of docs/bounces.md, applied as the page says (<see cref="PostfixPipeExample"/>). Skipped, saying how to get
/// it, without Postfix.
/// </summary>
[Trait("Category", PostfixRelay.Category)]
public abstract class PostfixPipeContract
{
    /// <summary>Bounded by Postfix's own clock: a 4xx recipient is given up after maximal_queue_lifetime (30 s).</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private const string PipeKey = "postfix-bounces-key-5f1c0e2d9a7b4c3e";

    protected abstract Task<Dictionary<string, string?>> SettingsAsync();

    /// <summary>The message the tests send: one recipient Postfix delivers, one of each test domain it bounces after its 250.</summary>
    internal static readonly string[] Recipients = ["ok@domain.local", "alice@hard.test", "dave@full.test", "carol@policy.test", "erin@later.test"];

    /// <summary>
    /// What the service needs to send through <paramref name="postfix"/> with a token return path (on domain.local, which
    /// that Postfix delivers itself) and to post webhooks to a receiver on 127.0.0.1.
    /// </summary>
    internal static Dictionary<string, string?> RelaySettings(PrivatePostfix postfix) => new()
    {
        ["Smtp:Security"] = "StartTls",
        ["Smtp:Username"] = postfix.Relay.User,
        ["Smtp:Password"] = postfix.Relay.Password,
        ["Smtp:MessageIdDomain"] = "domain.local",
        ["Smtp:Timeout"] = "00:00:10",
        ["Bounces:Enabled"] = "true",
        ["Bounces:ReturnPath"] = "bounces+{token}@domain.local",
        ["Bounces:TokenSecret"] = "a-secret-of-at-least-thirty-two-bytes!",
        ["Webhooks:AllowHttp"] = "true",
        ["Webhooks:AllowPrivateTargets"] = "true",
    };

    private async Task<MailApiFactory> ServiceAsync(PrivatePostfix postfix)
    {
        var settings = await SettingsAsync();
        foreach (var (key, value) in RelaySettings(postfix).Concat(new Dictionary<string, string?>
        {
            // The docs' key for the pipe: it may hand in reports and read the log, and send nothing.
            ["Auth:ApiKeys:2:Name"] = "postfix-bounces",
            ["Auth:ApiKeys:2:Key"] = PipeKey,
            ["Auth:ApiKeys:2:Bounces"] = "true",
        }))
        {
            settings[key] = value;
        }
        return new MailApiFactory(postfix.Relay.Port, settings);
    }

    /// <summary>Subscribes <paramref name="receiver"/> (answering 204) to bounce and delay events; the subscription's secret.</summary>
    internal static async Task<string> SubscribeAsync(HttpClient client, WebhookReceiver receiver)
    {
        receiver.Server.Given(Request.Create().WithPath("/hook").UsingPost()).RespondWith(Response.Create().WithStatusCode(204));
        var hook = await client.PostAsJsonAsync("/v1/webhooks", new JsonObject
        {
            ["url"] = receiver.Url(),
            ["events"] = new JsonArray("message.bounced", "message.delayed"),
        });
        Assert.Equal(HttpStatusCode.Created, hook.StatusCode);
        return (string)(await hook.Content.ReadFromJsonAsync<JsonObject>())!["secret"]!;
    }

    internal static async Task<JsonObject> SendAsync(HttpClient client, params string[] to)
    {
        var response = await client.PostAsJsonAsync("/v1/messages", Bodies.Valid(to));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    /// <summary>Polls the message until <paramref name="reached"/> holds; if it never does, says what Postfix did with its DSNs.</summary>
    internal static async Task<JsonObject> WaitForAsync(PrivatePostfix postfix, HttpClient client, JsonObject sent, Func<JsonObject, bool> reached, string what)
    {
        JsonObject? last = null;
        await Poll.UntilAsync(async () => reached(last = (await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{sent["id"]}"))!),
            Patience, () => $"{what}; last seen: {last}\nPostfix's log:\n{string.Join("\n", postfix.Relay.LogLinesWith(""))}");
        return last!;
    }

    private static string? Status(JsonObject message, string address) => (string?)Recipient(message, address)["status"];

    /// <summary>Waits until Postfix's DSNs bounced every recipient of <see cref="Recipients"/> but ok@ (erin's comes when Postfix gives up).</summary>
    internal static Task<JsonObject> WaitForEveryBounceAsync(PrivatePostfix postfix, HttpClient client, JsonObject sent) =>
        WaitForAsync(postfix, client, sent, m => Recipients.Skip(1).All(a => Status(m, a) == "bounced"), "every recipient but ok@ to be bounced");

    /// <summary>
    /// Each recipient's fate after Postfix's DSNs for <see cref="Recipients"/>: ok@ still accepted (the message partially
    /// sent), each test domain's recipient bounced with the class of the refusal Postfix met, the relay's 250 kept beside
    /// the bounce; only the hard bounce on the suppression list.
    /// </summary>
    internal static async Task AssertFatesAsync(HttpClient client, JsonObject message)
    {
        Assert.Equal("partially_sent", (string?)message["status"]);
        var ok = Recipient(message, "ok@domain.local");
        Assert.Equal("accepted", (string?)ok["status"]);
        Assert.Null(ok["bounce"]);
        foreach (var (address, status, bounceClass, refusal) in new[]
        {
            ("alice@hard.test", "5.1.1", "hard", "550 5.1.1"), ("dave@full.test", "5.2.2", "soft", "552 5.2.2"),
            ("carol@policy.test", "5.7.1", "policy", "550 5.7.1"), ("erin@later.test", "4.2.1", "soft", "450 4.2.1"),
        })
        {
            var recipient = Recipient(message, address);
            Assert.Equal(250, (int?)recipient["reply"]!["code"]); // what the relay said in the dialogue stays beside the bounce
            var bounce = recipient["bounce"]!;
            Assert.Equal(("failed", status, bounceClass), ((string?)bounce["action"], (string?)bounce["status"], (string?)bounce["class"]));
            Assert.StartsWith($"smtp; {refusal} <{address}>: Recipient address rejected:", (string?)bounce["diagnostic"]);
            Assert.Contains("127.0.0.1", (string?)bounce["remoteMta"]);
            Assert.Equal("profbox.domain.local", (string?)bounce["reportingMta"]);
        }

        // Only the hard bounce suppresses.
        var suppressed = (await client.GetFromJsonAsync<JsonObject>("/v1/suppressions"))!["items"]!.AsArray();
        Assert.Equal(["alice@hard.test"], suppressed.Select(s => (string)s!["address"]!));
        Assert.Equal("hard_bounce", (string?)suppressed[0]!["reason"]);
    }

    /// <summary>
    /// The events of a message to <see cref="Recipients"/> (the failures, erin's delay, erin's failure) and the three
    /// webhooks they sent, each signed with <paramref name="secret"/>.
    /// </summary>
    internal static async Task AssertEventsAsync(HttpClient client, JsonObject sent, WebhookReceiver receiver, string secret)
    {
        var events = (await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{sent["id"]}/events"))!["items"]!.AsArray();
        Assert.Equal(["message.sent", "message.bounced", "message.delayed", "message.bounced"], events.Select(e => (string)e!["type"]!));
        var delayed = events[2]!["data"]!["recipients"]!.AsArray().Single(r => (string?)r!["address"] == "erin@later.test")!;
        Assert.Equal(("accepted", "delayed", "4.2.1"), ((string?)delayed["status"], (string?)delayed["bounce"]!["action"], (string?)delayed["bounce"]!["status"]));
        var hooks = await receiver.WaitForAsync(3, timeout: Patience);
        Assert.All(hooks, h => Assert.True(h.VerifiesWith(secret)));
        Assert.Equal(["message.bounced", "message.bounced", "message.delayed"], hooks.Select(h => (string)h.Json["type"]!).Order());
        Assert.All(hooks, h => Assert.Equal((string?)sent["id"], (string?)h.Json["data"]!["id"]));
    }

    private static IEnumerable<string> PipeLines(PrivatePostfix postfix, string status) =>
        postfix.Relay.LogLinesWith("relay=mailapi,").Where(l => l.Contains($"status={status}", StringComparison.Ordinal));

    /// <summary>
    /// Waits until Postfix logged <paramref name="count"/> deliveries through the pipe: it logs one once the script has
    /// exited, a moment after the service took the report.
    /// </summary>
    private static Task WaitForPipeDeliveriesAsync(PrivatePostfix postfix, int count) =>
        Poll.UntilAsync(() => PipeLines(postfix, "sent").Count() >= count, Patience, $"Postfix to log {count} deliveries through the pipe");

    /// <summary>The report log, once it holds <paramref name="count"/> reports (a report is logged just after its effect).</summary>
    private static async Task<JsonArray> ReportsAsync(HttpClient client, int count)
    {
        JsonArray items = [];
        await Poll.UntilAsync(async () => (items = (await client.GetFromJsonAsync<JsonObject>("/v1/bounces"))!["items"]!.AsArray()).Count >= count,
            Patience, () => $"{count} reports in the log; it has {items.Count}");
        return items;
    }

    [Fact]
    public async Task Postfixs_own_dsns_come_through_the_documented_pipe_and_tell_each_recipients_fate()
    {
        await using var postfix = await PrivatePostfix.StartAsync(Chromium.RepositoryRoot());
        using var receiver = new WebhookReceiver();
        using var factory = await ServiceAsync(postfix);
        await PostfixPipeExample.ApplyAsync(postfix, Chromium.Serve(factory), PipeKey, "domain.local");
        var client = factory.ClientFor();
        var secret = await SubscribeAsync(client, receiver);

        var sent = await SendAsync(client, Recipients);
        // Postfix refuses nothing in the dialogue; its DSNs come later: three failures at once, then erin's delay
        // notice after delay_warning_time, then erin's failure when Postfix gives up.
        var message = await WaitForEveryBounceAsync(postfix, client, sent);

        await AssertFatesAsync(client, message);
        var queueId = (string)message["queueId"]!;
        var transcript = message["attempts"]!.AsArray().Single()!["transcript"]!.AsArray();
        var commands = transcript.Select(e => (string?)e!["command"]).ToList();
        Assert.Single(commands, c => c is not null && Regex.IsMatch(c, $@"^MAIL FROM:<bounces\+[a-z2-7]{{42}}@domain\.local>( SIZE=\d+)? ENVID={sent["id"]} RET=HDRS$"));
        Assert.Contains("RCPT TO:<erin@later.test> NOTIFY=FAILURE,DELAY ORCPT=rfc822;erin@later.test", commands);
        await AssertEventsAsync(client, sent, receiver, secret);

        // Three reports, each through the pipe (Postfix says so) and each matched by its verified token.
        var reports = await ReportsAsync(factory.ClientFor(PipeKey), 3);
        Assert.Equal(3, reports.Count);
        Assert.All(reports, r => Assert.Equal(("http", "dsn", "verp", (string?)sent["id"]),
            ((string?)r!["via"], (string?)r["kind"], (string?)r["matchedBy"], (string?)r["messageId"])));
        await WaitForPipeDeliveriesAsync(postfix, 3);
        Assert.Equal(3, PipeLines(postfix, "sent").Count());
        var raw = await factory.ClientFor(PipeKey).GetStringAsync($"/v1/bounces/{reports[0]!["id"]}/raw");
        Assert.Contains($"X-Postfix-Queue-ID: {queueId}", raw);
        Assert.Contains("Delivered-To: bounces+", raw);
    }

    [Fact]
    public async Task A_bounce_the_service_refuses_stays_in_postfixs_queue_and_arrives_once_the_key_is_right()
    {
        await using var postfix = await PrivatePostfix.StartAsync(Chromium.RepositoryRoot());
        // Postfix keeps a DSN no longer than mail in general: long enough here that no retry it misses can lose it.
        await postfix.RunAsync($"postconf -c '{postfix.ConfigDir}' -e maximal_queue_lifetime=10m");
        using var factory = await ServiceAsync(postfix);
        await PostfixPipeExample.ApplyAsync(postfix, Chromium.Serve(factory), "not-the-key", "domain.local");
        var client = factory.ClientFor();

        var sent = await SendAsync(client, "alice@hard.test");
        // The service answers 401, curl fails, the script exits 75: Postfix keeps the DSN and tries again.
        await Poll.UntilAsync(() => PipeLines(postfix, "deferred").Any(), Patience, "Postfix to defer the DSN the service refused");
        Assert.Equal("sent", (string?)(await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{sent["id"]}"))!["status"]);
        Assert.Empty((await factory.ClientFor(PipeKey).GetFromJsonAsync<JsonObject>("/v1/bounces"))!["items"]!.AsArray());

        await PostfixPipeExample.SetKeyAsync(postfix, PipeKey);
        var message = await WaitForAsync(postfix, client, sent, m => (string?)m["status"] == "bounced", "the message to be bounced");

        Assert.Equal(("bounced", "hard"), (Status(message, "alice@hard.test"), (string?)Recipient(message, "alice@hard.test")["bounce"]!["class"]));
        Assert.Single(await ReportsAsync(factory.ClientFor(PipeKey), 1));
        await WaitForPipeDeliveriesAsync(postfix, 1);
        Assert.Single(PipeLines(postfix, "sent"));
        Assert.Empty(PipeLines(postfix, "bounced")); // the refused tries gave nothing up
    }
}

public sealed class InMemoryPostfixPipeTests : PostfixPipeContract
{
    protected override Task<Dictionary<string, string?>> SettingsAsync() => Task.FromResult(new Dictionary<string, string?>());
}

[Trait("Category", "PostgreSql")]
public sealed class PostgreSqlPostfixPipeTests : PostfixPipeContract
{
    protected override async Task<Dictionary<string, string?>> SettingsAsync() => new()
    {
        ["Storage:Provider"] = "PostgreSql",
        ["Storage:ConnectionString"] = await Postgres.CreateDatabaseAsync(),
    };
}
