using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MailApi.Bounces;
using MailApi.Tests.Infrastructure;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace MailApi.Tests.Suppressions;

/// <summary>
/// Soft bounces in a row through the running service, in memory and on PostgreSQL: messages sent to a real SMTP server,
/// then real Postfix DSNs (the fixture corpus, made this test's messages') handed in over HTTP. The threshold-th soft
/// bounce suppresses the address for the configured expiry; a success report ends the streak; policy bounces never count;
/// one report counts once; reports taken at once lose no count.
/// </summary>
public abstract partial class SoftBounceContract : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Not a default, so a test that finds it in <c>expiresAt</c> knows the setting was read.</summary>
    private static readonly TimeSpan Expiry = new(2, 3, 0, 0);

    private const string Bob = "Bob@Full.Test";

    private TestSmtpServer _relay = null!;

    protected abstract Task<Dictionary<string, string?>> SettingsAsync();

    public async ValueTask InitializeAsync() => _relay = await TestSmtpServer.StartAsync();

    public async ValueTask DisposeAsync() => await _relay.DisposeAsync();

    private async Task<MailApiFactory> FactoryAsync(int threshold = 3)
    {
        var settings = await SettingsAsync();
        settings["Auth:ApiKeys:0:Bounces"] = "true";
        settings["Suppressions:SoftBouncesBeforeSuppress"] = threshold.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Suppressions:SoftBounceExpiry"] = Expiry.ToString();
        settings["Webhooks:AllowHttp"] = "true";
        settings["Webhooks:AllowPrivateTargets"] = "true";
        return new MailApiFactory(_relay.Port, settings);
    }

    /// <summary><paramref name="count"/> messages to Bob in one batch, each once the relay took it (<c>sent</c>).</summary>
    internal static async Task<List<JsonObject>> SentToBobAsync(HttpClient client, int count)
    {
        var batch = new JsonObject { ["messages"] = new JsonArray([.. Enumerable.Range(0, count).Select(_ => (JsonNode)Bodies.Valid(Bob))]) };
        var response = await client.PostAsJsonAsync("/v1/messages/batch", batch);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var items = (await response.Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray();
        var sent = new List<JsonObject>();
        foreach (var item in items)
        {
            sent.Add(await MailApiFactory.WaitForStatusAsync(client, (string)item!["id"]!, Patience, "sent"));
        }
        return sent;
    }

    /// <summary>
    /// A Postfix DSN of the corpus about <paramref name="message"/>'s recipient Bob: its envelope id made the message's,
    /// the recipient it names made Bob, and its own Message-ID (the report's identity) made one of this copy's.
    /// </summary>
    internal static string Dsn(string fixture, JsonObject message, string copy = "")
    {
        var (file, recipient) = fixture switch
        {
            "soft" => ("postfix-mailbox-full.eml", Bob),
            "delivered" => ("postfix-delivered.eml", "Bob@mailapi.test"),
            "policy" => ("postfix-policy.eml", "carol@policy.test"),
            _ => throw new ArgumentOutOfRangeException(nameof(fixture)),
        };
        var text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Bounces", "Fixtures", file));
        return EnvelopeId().Replace(text, "Original-Envelope-Id: " + (string)message["id"]!)
            .Replace(recipient, Bob, StringComparison.Ordinal)
            .Replace("Message-Id: <", $"Message-Id: <{copy}{message["id"]}.", StringComparison.Ordinal);
    }

    internal static async Task<JsonObject> PostAsync(HttpClient client, string mail)
    {
        var response = await client.PostAsync("/v1/bounces", new StringContent(mail, Encoding.UTF8, BouncesApi.MediaType));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    /// <summary>Bob's entry on the key's list, or null (the intake has fed the list by the time it answers).</summary>
    internal static async Task<JsonObject?> EntryAsync(HttpClient client)
    {
        var response = await client.GetAsync("/v1/suppressions/" + Uri.EscapeDataString(Bob));
        return response.StatusCode == HttpStatusCode.NotFound ? null : (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    [Fact]
    public async Task The_third_soft_bounce_in_a_row_suppresses_the_address_until_the_expiry_and_the_next_message_has_it_suppressed()
    {
        using var factory = await FactoryAsync();
        var client = factory.ClientFor();
        using var receiver = new WebhookReceiver();
        receiver.Server.Given(Request.Create().WithPath("/hook").UsingPost()).RespondWith(Response.Create().WithStatusCode(204));
        var hook = await client.PostAsJsonAsync("/v1/webhooks", new JsonObject { ["url"] = receiver.Url(), ["events"] = new JsonArray("suppression.created") });
        Assert.Equal(HttpStatusCode.Created, hook.StatusCode);
        var sent = await SentToBobAsync(client, 3);

        foreach (var message in sent.Take(2))
        {
            Assert.Equal("envelope_id", (string?)(await PostAsync(client, Dsn("soft", message)))["matchedBy"]);
            Assert.Null(await EntryAsync(client));
        }
        await PostAsync(client, Dsn("soft", sent[2]));

        var entry = await EntryAsync(client);
        Assert.NotNull(entry);
        Assert.Equal(("bob@full.test", "soft_bounce"), ((string?)entry["address"], (string?)entry["reason"]));
        Assert.Equal(Expiry, DateTimeOffset.Parse((string)entry["expiresAt"]!) - DateTimeOffset.Parse((string)entry["createdAt"]!));
        // The source is the last bounce: its message, status and the remote server's words.
        Assert.Equal(((string?)sent[2]["id"], "5.2.2"), ((string?)entry["source"]!["messageId"], (string?)entry["source"]!["status"]));
        Assert.Contains("Mailbox full", (string?)entry["source"]!["diagnostic"]);
        var created = (await receiver.WaitForAsync(1)).Single().Json;
        Assert.Equal(("suppression.created", "soft_bounce"), ((string?)created["type"], (string?)created["data"]!["reason"]));
        // The same instant, but PostgreSQL keeps microseconds: the event, sent from memory, may have a tenth more.
        Assert.Equal(DateTimeOffset.Parse((string)entry["expiresAt"]!), DateTimeOffset.Parse((string)created["data"]!["expiresAt"]!), TimeSpan.FromMicroseconds(1));
        Assert.Equal(["bob@full.test"], (await client.GetFromJsonAsync<JsonObject>("/v1/suppressions?reason=soft_bounce"))!["items"]!
            .AsArray().Select(e => (string)e!["address"]!));

        var next = await client.PostAsJsonAsync("/v1/messages", Bodies.Valid(Bob));
        var suppressed = (await next.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("failed", (string?)suppressed["status"]);
        Assert.Equal(("suppressed", "soft_bounce"), ((string?)suppressed["recipients"]![0]!["status"], (string?)suppressed["recipients"]![0]!["suppression"]!["reason"]));
        Assert.Equal(3, _relay.RecipientsOffered.Count);
    }

    [Fact]
    public async Task A_delivered_report_ends_the_streak_and_the_count_starts_again()
    {
        using var factory = await FactoryAsync();
        var client = factory.ClientFor();
        var sent = await SentToBobAsync(client, 6);

        await PostAsync(client, Dsn("soft", sent[0]));
        await PostAsync(client, Dsn("soft", sent[1]));
        var delivered = await PostAsync(client, Dsn("delivered", sent[2]));
        await PostAsync(client, Dsn("soft", sent[3]));
        await PostAsync(client, Dsn("soft", sent[4]));

        // Matched, and it changed something (the streak) though no recipient: no note.
        Assert.Equal(("envelope_id", null), ((string?)delivered["matchedBy"], (string?)delivered["reason"]));
        Assert.Equal("sent", (string?)(await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{sent[2]["id"]}"))!["status"]);
        Assert.Null(await EntryAsync(client));
        // Two after the delivered one, and a third: three in a row again.
        await PostAsync(client, Dsn("soft", sent[5]));
        Assert.Equal((string?)sent[5]["id"], (string?)(await EntryAsync(client))?["source"]!["messageId"]);
    }

    [Fact]
    public async Task Policy_bounces_never_count_and_a_threshold_of_one_suppresses_at_the_first_soft_bounce()
    {
        using var factory = await FactoryAsync(threshold: 1);
        var client = factory.ClientFor();
        var sent = await SentToBobAsync(client, 2);

        await PostAsync(client, Dsn("policy", sent[0]));
        var refused = (await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{sent[0]["id"]}"))!;
        Assert.Equal(("bounced", "policy"), ((string?)refused["recipients"]![0]!["status"], (string?)refused["recipients"]![0]!["bounce"]!["class"]));
        Assert.Null(await EntryAsync(client));

        await PostAsync(client, Dsn("soft", sent[1]));
        Assert.Equal("soft_bounce", (string?)(await EntryAsync(client))?["reason"]);
    }

    [Fact]
    public async Task The_same_report_handed_in_twice_counts_once()
    {
        using var factory = await FactoryAsync(threshold: 2);
        var client = factory.ClientFor();
        var sent = await SentToBobAsync(client, 2);

        var first = await PostAsync(client, Dsn("soft", sent[0]));
        Assert.Equal((string?)first["id"], (string?)(await PostAsync(client, Dsn("soft", sent[0])))["id"]);
        // Another copy of it (its own Message-ID differs, so it is logged anew): the recipient is bounced already.
        var copy = await PostAsync(client, Dsn("soft", sent[0], copy: "copy."));
        Assert.NotEqual((string?)first["id"], (string?)copy["id"]);
        Assert.Null(await EntryAsync(client));

        await PostAsync(client, Dsn("soft", sent[1]));
        Assert.NotNull(await EntryAsync(client));
    }

    [Fact]
    public async Task Soft_bounces_taken_at_once_lose_no_count()
    {
        const int count = 6;
        using var factory = await FactoryAsync(threshold: count);
        var client = factory.ClientFor();
        var sent = await SentToBobAsync(client, count);

        // One lost count leaves the streak one short of the threshold, and the address unsuppressed.
        var reports = await Task.WhenAll(sent.Select(message => PostAsync(client, Dsn("soft", message))));

        Assert.All(reports, r => Assert.Equal("envelope_id", (string?)r["matchedBy"]));
        Assert.Equal("soft_bounce", (string?)(await EntryAsync(client))?["reason"]);
    }

    [GeneratedRegex("^Original-Envelope-Id: .*$", RegexOptions.Multiline)]
    private static partial Regex EnvelopeId();
}

public sealed class InMemorySoftBounceTests : SoftBounceContract
{
    protected override Task<Dictionary<string, string?>> SettingsAsync() => Task.FromResult(new Dictionary<string, string?>());
}

[Trait("Category", "PostgreSql")]
public sealed class PostgreSqlSoftBounceTests : SoftBounceContract
{
    protected override async Task<Dictionary<string, string?>> SettingsAsync() => new()
    {
        ["Storage:Provider"] = "PostgreSql",
        ["Storage:ConnectionString"] = await Postgres.CreateDatabaseAsync(),
    };
}
