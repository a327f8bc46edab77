using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;
using MailKit;
using MimeKit;
using static MailApi.Tests.Bounces.PostfixPipeContract;

namespace MailApi.Tests.Bounces;

/// <summary>
/// Bounces after the relay's 250, read back over IMAP, end to end, in memory and on PostgreSQL: the service sends through
/// a real Postfix (a relay of the test's own, tests/relays/postfix.sh) with a token return path; Postfix relays the test
/// domains to a server that refuses them at RCPT and delivers its own DSNs to <c>bounces+TOKEN@domain.local</c>, a
/// Maildir that a real Dovecot of the test's own (tests/relays/dovecot.sh --maildir) serves as the INBOX the service's
/// IMAP reader reads, as docs/bounces.md configures it. Skipped, saying how to get them, without Postfix or Dovecot.
/// </summary>
[Trait("Category", PostfixRelay.Category)]
[Trait("Category", DovecotServer.Category)]
public abstract class PostfixImapContract
{
    /// <summary>Bounded by Postfix's own clock: a 4xx recipient is given up after maximal_queue_lifetime (30 s).</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private const string Processed = "MailApi/Processed";
    private const string Unmatched = "MailApi/Unmatched";

    protected abstract Task<Dictionary<string, string?>> SettingsAsync();

    private async Task<MailApiFactory> ServiceAsync(PrivatePostfix postfix, DovecotServer dovecot)
    {
        var settings = await SettingsAsync();
        foreach (var (key, value) in RelaySettings(postfix).Concat(new Dictionary<string, string?>
        {
            // The mailbox as docs/bounces.md names it; a one-second poll bounds the reader's waits after a failure.
            ["Bounces:Imap:Host"] = dovecot.Host,
            ["Bounces:Imap:Port"] = dovecot.Port.ToString(),
            ["Bounces:Imap:Security"] = "None",
            ["Bounces:Imap:Username"] = dovecot.User,
            ["Bounces:Imap:Password"] = dovecot.Password,
            ["Bounces:Imap:Folder"] = "INBOX",
            ["Bounces:Imap:ProcessedFolder"] = Processed,
            ["Bounces:Imap:UnmatchedFolder"] = Unmatched,
            ["Bounces:Imap:PollInterval"] = "00:00:01",
            // The sending key may read the report log.
            ["Auth:ApiKeys:0:Bounces"] = "true",
        }))
        {
            settings[key] = value;
        }
        return new MailApiFactory(postfix.Relay.Port, settings);
    }

    /// <summary>Postfix's deliveries of a DSN into the bounces Maildir, as its log states them.</summary>
    private static int DsnsDelivered(PrivatePostfix postfix) => postfix.Relay.LogLinesWith("to=<bounces+")
        .Count(l => l.Contains("relay=maildir,", StringComparison.Ordinal) && l.Contains("status=sent", StringComparison.Ordinal));

    /// <summary>The Message-ID of each mail in <paramref name="folder"/>.</summary>
    private static async Task<string?[]> MessageIdsAsync(DovecotServer dovecot, string folder)
    {
        using var client = await dovecot.ConnectAsync();
        var opened = await client.GetFolderAsync(folder);
        await opened.OpenAsync(FolderAccess.ReadOnly);
        var ids = (await opened.FetchAsync(0, -1, MessageSummaryItems.Envelope)).Select(s => s.Envelope?.MessageId).ToArray();
        await client.DisconnectAsync(true);
        return ids;
    }

    [Fact]
    public async Task Postfixs_own_dsns_in_the_mailbox_dovecot_serves_tell_each_recipients_fate_and_stay_in_the_mailbox()
    {
        await using var postfix = await PrivatePostfix.StartAsync(Chromium.RepositoryRoot());
        await using var imap = await PrivateDovecot.StartAsync(Chromium.RepositoryRoot(), postfix.Relay.BounceMaildir!);
        var dovecot = imap.Server;
        using var receiver = new WebhookReceiver();
        using var factory = await ServiceAsync(postfix, dovecot);
        var client = factory.ClientFor();
        var secret = await SubscribeAsync(client, receiver);

        var sent = await SendAsync(client, Recipients);
        // Postfix refuses nothing in the dialogue; its DSNs come later, into the Maildir: three failures at once, then
        // erin's delay notice after delay_warning_time, then erin's failure when Postfix gives up.
        var message = await WaitForEveryBounceAsync(postfix, client, sent);

        await AssertFatesAsync(client, message);
        await AssertEventsAsync(client, sent, receiver, secret);

        // Every DSN Postfix delivered is still in the mailbox, moved to Processed (after its report was logged): the same
        // mails the report log holds.
        int[] counts = [];
        await Poll.UntilAsync(async () => (counts = await dovecot.CountsAsync("INBOX", Processed, Unmatched)).SequenceEqual([0, 3, 0]), Patience,
            () => $"the 3 reports to be in Processed and nothing left in INBOX or Unmatched; last seen {string.Join(", ", counts)}");
        Assert.Equal(3, DsnsDelivered(postfix));
        var reports = (await client.GetFromJsonAsync<JsonObject>("/v1/bounces"))!["items"]!.AsArray();
        Assert.Equal(3, reports.Count);
        Assert.All(reports, r => Assert.Equal(("imap", "dsn", "verp", (string?)sent["id"]),
            ((string?)r!["via"], (string?)r["kind"], (string?)r["matchedBy"], (string?)r["messageId"])));
        var logged = new List<string?>();
        foreach (var report in reports)
        {
            var raw = await client.GetByteArrayAsync($"/v1/bounces/{report!["id"]}/raw");
            logged.Add(MimeMessage.Load(new MemoryStream(raw)).MessageId);
        }
        Assert.Equal(logged.Order(), (await MessageIdsAsync(dovecot, Processed)).Order());
    }
}

public sealed class InMemoryPostfixImapTests : PostfixImapContract
{
    protected override Task<Dictionary<string, string?>> SettingsAsync() => Task.FromResult(new Dictionary<string, string?>());
}

[Trait("Category", "PostgreSql")]
public sealed class PostgreSqlPostfixImapTests : PostfixImapContract
{
    protected override async Task<Dictionary<string, string?>> SettingsAsync() => new()
    {
        ["Storage:Provider"] = "PostgreSql",
        ["Storage:ConnectionString"] = await Postgres.CreateDatabaseAsync(),
    };
}
