using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Bounces;
using MailApi.Tests.Infrastructure;
using MailKit.Net.Imap;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using static MailApi.Tests.Bounces.BounceIntakeContract;

namespace MailApi.Tests.Bounces;

/// <summary>
/// The IMAP reader through the running service, in memory and on PostgreSQL, against a real Dovecot: each test reads a
/// folder of its own (with its Processed and Unmatched folders inside it), appends real Postfix DSNs (from the fixture
/// corpus, their ids made this test's messages') and hostile mail with MailKit, and waits for the mail to be moved.
/// Every mail appended is still in the mailbox afterwards.
/// </summary>
public abstract class ImapIntakeContract : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>The address the fixture DSNs were delivered to, replaced by a test's return path.</summary>
    private const string FixtureReturnPath = "bounces+0193f1e4000179aa8c11d2e3f4a5b6c7.Qq1w2E3r@mailapi.test";

    private TestSmtpServer _relay = null!;
    private DovecotServer _dovecot = null!;
    private string _folder = null!;

    protected abstract Task<Dictionary<string, string?>> SettingsAsync();

    public async ValueTask InitializeAsync() => _relay = await TestSmtpServer.StartAsync();

    public async ValueTask DisposeAsync() => await _relay.DisposeAsync();

    private string Processed => _folder + "/Processed";
    private string Unmatched => _folder + "/Unmatched";

    /// <summary>The service reading a new folder of this test's with IDLE (a poll interval of one second where IDLE is off).</summary>
    private async Task<MailApiFactory> FactoryAsync(Dictionary<string, string?>? more = null)
    {
        _dovecot = DovecotServer.Require();
        _folder = await _dovecot.NewFolderAsync();
        var settings = await SettingsAsync();
        settings["Auth:ApiKeys:0:Bounces"] = "true";
        settings["Bounces:Enabled"] = "true";
        settings["Bounces:Imap:PollInterval"] = "00:00:01";
        foreach (var (key, value) in _dovecot.ReaderSettings(_folder).Concat(more ?? []))
        {
            settings[key] = value;
        }
        return new MailApiFactory(_relay.Port, settings);
    }

    /// <summary>Waits until the folder, Processed and Unmatched hold these many mails.</summary>
    private async Task WaitForCountsAsync(int inFolder, int processed, int unmatched)
    {
        int[] last = [];
        await Poll.UntilAsync(async () => (last = await _dovecot.CountsAsync(_folder, Processed, Unmatched)).SequenceEqual([inFolder, processed, unmatched]),
            Patience, () => $"{inFolder} mails in {_folder}, {processed} in Processed, {unmatched} in Unmatched; last seen {string.Join(", ", last)}");
    }

    private static async Task<JsonArray> ReportsAsync(HttpClient client, string query = "") =>
        (await client.GetFromJsonAsync<JsonObject>("/v1/bounces" + query))!["items"]!.AsArray();

    private static async Task<string[]> EventsAsync(HttpClient client, JsonObject message) =>
        [.. (await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{message["id"]}/events"))!["items"]!.AsArray().Select(e => (string)e!["type"]!)];

    [Fact]
    public async Task A_dsn_in_the_mailbox_bounces_its_recipients_and_is_moved_to_processed()
    {
        using var factory = await FactoryAsync();
        var client = factory.ClientFor();
        var sent = await SentAsync(client, "alice@hard.test", "ok@domain.local", "dave@full.test", "carol@policy.test");

        await _dovecot.AppendAsync(_folder, Dsn(sent));

        var message = await MailApiFactory.WaitForStatusAsync(client, (string)sent["id"]!, Patience, "partially_sent");
        await WaitForCountsAsync(0, 1, 0);
        Assert.Equal("accepted", (string?)Recipient(message, "ok@domain.local")["status"]);
        foreach (var (address, bounceClass) in new[] { ("alice@hard.test", "hard"), ("dave@full.test", "soft"), ("carol@policy.test", "policy") })
        {
            Assert.Equal(("bounced", bounceClass), ((string?)Recipient(message, address)["status"], (string?)Recipient(message, address)["bounce"]!["class"]));
        }
        var report = Assert.Single(await ReportsAsync(client))!;
        Assert.Equal(("imap", "envelope_id", (string?)sent["id"]), ((string?)report["via"], (string?)report["matchedBy"], (string?)report["messageId"]));
        Assert.Equal(["message.sent", "message.bounced"], await EventsAsync(client, sent));
        Assert.StartsWith("Return-Path: <>", await client.GetStringAsync($"/v1/bounces/{report["id"]}/raw"));
    }

    [Fact]
    public async Task Hostile_mail_goes_to_unmatched_changes_nothing_and_the_reader_goes_on()
    {
        using var factory = await FactoryAsync(new()
        {
            ["Bounces:ReturnPath"] = "bounces+{token}@mailapi.test",
            ["Bounces:TokenSecret"] = "a-secret-of-at-least-thirty-two-bytes!",
        });
        var client = factory.ClientFor();
        var sent = await SentAsync(client, "alice@hard.test");
        var other = await SentAsync(client, "alice@hard.test");
        var returnPath = factory.Services.GetRequiredService<BounceTokens>().ReturnPathFor(Guid.Parse((string)sent["id"]!))!;
        var at = returnPath.IndexOf('@');
        var forged = returnPath[..(at - 1)] + (returnPath[at - 1] == 'a' ? 'b' : 'a') + returnPath[at..];
        string To(string mail, string address, string id) => mail.Replace(FixtureReturnPath, address, StringComparison.Ordinal)
            .Replace("Message-Id: <", $"Message-Id: <{id}.", StringComparison.Ordinal);

        await _dovecot.AppendAsync(_folder,
            To(Dsn(sent), forged, "forged"),
            To(Dsn(other), returnPath, "disagreeing"),
            File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Bounces", "Fixtures", "vacation-auto-reply.eml")),
            "Subject: broken\r\nMessage-ID: <broken@mailapi.test>\r\nContent-Type: multipart/report; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nno end",
            "Subject: no status\r\nMessage-ID: <no-status@mailapi.test>\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n"
                + "--b\r\nContent-Type: text/plain\r\n\r\nYour mail to alice@hard.test failed.\r\n--b--\r\n",
            "Subject: big\r\nMessage-ID: <big@mailapi.test>\r\n\r\n" + string.Concat(Enumerable.Repeat(new string('x', 998) + "\r\n", 5 * 1024)));
        await _dovecot.AppendAsync(_folder, To(Dsn(sent), returnPath, "verified"));

        // The last one in is the one that counts: the reader went past every hostile mail to it.
        await MailApiFactory.WaitForStatusAsync(client, (string)sent["id"]!, Patience, "bounced");
        await WaitForCountsAsync(0, 1, 6);
        var unmatched = await ReportsAsync(client, "?matched=false");
        Assert.Equal(5, unmatched.Count);
        Assert.All(unmatched, r => Assert.NotNull((string?)r!["reason"]));
        Assert.Contains(unmatched, r => ((string?)r!["reason"])!.Contains("no verified token"));
        Assert.Contains(unmatched, r => ((string?)r!["reason"])!.Contains("keys disagree"));
        var matched = Assert.Single(await ReportsAsync(client, "?matched=true"))!;
        Assert.Equal("verp", (string?)matched["matchedBy"]);
        Assert.Equal("sent", (string?)(await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{other["id"]}"))!["status"]);
        Assert.Equal(["message.sent", "message.bounced"], await EventsAsync(client, sent));
        Assert.Equal(["message.sent"], await EventsAsync(client, other));
    }

    [Fact]
    public async Task The_same_report_twice_in_the_mailbox_has_one_effect()
    {
        using var factory = await FactoryAsync();
        var client = factory.ClientFor();
        var sent = await SentAsync(client, "alice@hard.test", "ok@domain.local");

        await _dovecot.AppendAsync(_folder, Dsn(sent), Dsn(sent));

        // The copy is a duplicate of a matched report: it goes where the first went.
        await WaitForCountsAsync(0, 2, 0);
        Assert.Single(await ReportsAsync(client));
        Assert.Equal(["message.sent", "message.bounced"], await EventsAsync(client, sent));
        Assert.Equal("partially_sent", (string?)(await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{sent["id"]}"))!["status"]);
    }

    [Fact]
    public async Task A_mail_whose_move_failed_is_known_when_read_again_and_only_moved()
    {
        using var factory = await FactoryAsync();
        var client = factory.ClientFor();
        var sent = await SentAsync(client, "alice@hard.test");
        // Dovecot cannot write into Processed: the move fails with NO, as if the instance had died between storing the
        // report and moving the mail.
        await Poll.UntilAsync(() => Directory.Exists(Path.Combine(_dovecot.FolderPath(Processed), "tmp")), Patience, "the reader to create Processed");
        using (_dovecot.RefuseWrites(Processed))
        {
            var uid = Assert.Single(await _dovecot.AppendAsync(_folder, Dsn(sent)));

            await MailApiFactory.WaitForStatusAsync(client, (string)sent["id"]!, Patience, "bounced");
            await Poll.UntilAsync(() => factory.Logs.Lines.Any(l => l.Contains($"UID {uid.Id} of") && l.Contains("was taken before")), Patience,
                "the reader to read the mail again after its failed move, and know it");
            Assert.Equal([uid], (await _dovecot.UidsAsync(_folder))[0]);
        }

        await WaitForCountsAsync(0, 1, 0);
        Assert.Single(await ReportsAsync(client));
        Assert.Equal(["message.sent", "message.bounced"], await EventsAsync(client, sent));
    }

    [Fact]
    public async Task The_reader_outlives_an_outage_of_the_server_and_reads_again_once_it_is_back()
    {
        await using var forwarder = TcpForwarder.Start(DovecotServer.Require().Port);
        using var factory = await FactoryAsync(new() { ["Bounces:Imap:Port"] = forwarder.Port.ToString() });
        var client = factory.ClientFor();
        var sent = await SentAsync(client, "alice@hard.test");
        int Lines(string text) => factory.Logs.Lines.Count(l => l.Contains(text, StringComparison.Ordinal));
        await Poll.UntilAsync(() => Lines("); waiting for mail with IDLE") == 1, Patience, "the reader to connect");

        // The server goes (every connection reset, new ones too) while the reader waits in IDLE; a report arrives meanwhile.
        forwarder.Cut();
        await _dovecot.AppendAsync(_folder, Dsn(sent));
        await Poll.UntilAsync(() => Lines("failed; connecting again") >= 2, Patience, "the reader to fail and try again");
        Assert.Equal("sent", (string?)(await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{sent["id"]}"))!["status"]);

        forwarder.Restore();
        await MailApiFactory.WaitForStatusAsync(client, (string)sent["id"]!, Patience, "bounced");
        await WaitForCountsAsync(0, 1, 0);
        Assert.Equal(2, Lines("); waiting for mail with IDLE"));
    }

    [Fact]
    public async Task Without_move_and_idle_the_reader_copies_expunges_by_uid_and_polls()
    {
        using var plain = await FactoryAsync();
        using var factory = plain.WithWebHostBuilder(b => b.ConfigureTestServices(s =>
            s.AddSingleton(new ImapExtensionsOff(ImapCapabilities.Move | ImapCapabilities.Idle))));
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", MailApiFactory.AlphaKey);
        var sent = await SentAsync(client, "alice@hard.test");
        await _dovecot.AppendAsync(_folder, Dsn(sent), "Subject: hello\r\nMessage-ID: <hello@mailapi.test>\r\n\r\nJust a note.\r\n");

        await WaitForCountsAsync(0, 1, 1);
        Assert.Equal("bounced", (string?)(await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{sent["id"]}"))!["status"]);
        Assert.Contains(plain.Logs.Lines, l => l.Contains("waiting for mail every 00:00:01"));
    }
}

[Trait("Category", DovecotServer.Category)]
public sealed class InMemoryImapIntakeTests : ImapIntakeContract
{
    protected override Task<Dictionary<string, string?>> SettingsAsync() => Task.FromResult(new Dictionary<string, string?>());

    [Fact]
    public void A_mailbox_without_credentials_or_with_one_folder_twice_stops_the_start()
    {
        using var factory = new MailApiFactory(25, new Dictionary<string, string?>
        {
            ["Bounces:Enabled"] = "true",
            ["Bounces:Imap:Host"] = "imap.example.com",
            ["Bounces:Imap:UnmatchedFolder"] = "MailApi/Processed",
        });

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient()).ToString();

        Assert.Contains("Bounces:Imap:Username and Bounces:Imap:Password are required", error);
        Assert.Contains("three different folders", error);
    }
}

[Trait("Category", DovecotServer.Category)]
[Trait("Category", "PostgreSql")]
public sealed class PostgreSqlImapIntakeTests : ImapIntakeContract
{
    protected override async Task<Dictionary<string, string?>> SettingsAsync() => new()
    {
        ["Storage:Provider"] = "PostgreSql",
        ["Storage:ConnectionString"] = await Postgres.CreateDatabaseAsync(),
    };
}
