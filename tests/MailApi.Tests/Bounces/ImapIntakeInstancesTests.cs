using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;
using static MailApi.Tests.Bounces.BounceIntakeContract;

namespace MailApi.Tests.Bounces;

/// <summary>
/// The IMAP reader across instances on one PostgreSQL database, against a real Dovecot: one instance reads while the other
/// stands by and takes over when it goes, each report is taken once; and an instance killed (SIGKILL) after storing a
/// report but before moving its mail leaves a state the next instance finishes without repeating anything.
/// </summary>
[Trait("Category", DovecotServer.Category)]
[Trait("Category", "PostgreSql")]
public sealed class ImapIntakeInstancesTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private const string Key = "imap-instances-key";

    /// <summary>
    /// The fixture DSN for <paramref name="sent"/>, with a Message-ID of its own (a report's identity), bouncing its one
    /// recipient (each message has its own: a hard bounce suppresses the address).
    /// </summary>
    private static string DsnFor(JsonObject sent) => Dsn(sent).Replace("Message-Id: <", $"Message-Id: <{sent["id"]}.", StringComparison.Ordinal)
        .Replace("alice@hard.test", (string)sent["to"]![0]!, StringComparison.Ordinal);

    private static async Task<Dictionary<string, string?>> SettingsAsync(DovecotServer dovecot, string folder)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "PostgreSql",
            ["Storage:ConnectionString"] = await Postgres.CreateDatabaseAsync(),
            ["Bounces:Enabled"] = "true",
            ["Bounces:Imap:PollInterval"] = "00:00:01",
        };
        foreach (var (key, value) in dovecot.ReaderSettings(folder))
        {
            settings[key] = value;
        }
        return settings;
    }

    private static async Task<JsonObject> SendAsync(HttpClient client, string to)
    {
        var response = await client.PostAsJsonAsync("/v1/messages", Bodies.Valid(to));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
        return await MailApiFactory.WaitForStatusAsync(client, id, Patience, "sent");
    }

    private static async Task<string[]> EventsAsync(HttpClient client, JsonObject message) =>
        [.. (await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{message["id"]}/events"))!["items"]!.AsArray().Select(e => (string)e!["type"]!)];

    private static int Taken(MailApiFactory instance) => instance.Logs.Lines.Count(l => l.Contains("Bounce report ", StringComparison.Ordinal));

    private static bool Reads(MailApiFactory instance) => instance.Logs.Lines.Any(l => l.Contains("); waiting for mail", StringComparison.Ordinal));

    private static bool StandsBy(MailApiFactory instance) => instance.Logs.Lines.Any(l => l.Contains("Another instance reads", StringComparison.Ordinal));

    [Fact]
    public async Task Two_instances_take_each_report_once_and_the_one_standing_by_takes_over_when_the_reader_goes()
    {
        var dovecot = DovecotServer.Require();
        var folder = await dovecot.NewFolderAsync();
        await using var relay = await TestSmtpServer.StartAsync();
        var settings = await SettingsAsync(dovecot, folder);
        settings["Auth:ApiKeys:0:Bounces"] = "true";
        var a = new MailApiFactory(relay.Port, settings);
        var b = new MailApiFactory(relay.Port, settings);
        try
        {
            var clients = new Dictionary<MailApiFactory, HttpClient> { [a] = a.ClientFor(), [b] = b.ClientFor() };
            await Poll.UntilAsync(() => (Reads(a) && StandsBy(b)) || (Reads(b) && StandsBy(a)), Patience, "one instance to read and the other to stand by");
            var (reader, standby) = Reads(a) ? (a, b) : (b, a);

            var first = new List<JsonObject>();
            for (var i = 0; i < 6; i++)
            {
                first.Add(await SendAsync(clients[i % 2 == 0 ? a : b], $"alice{i}@hard.test"));
            }
            // Every report, and a second copy of two of them.
            await dovecot.AppendAsync(folder, [.. first.Select(DsnFor), DsnFor(first[0]), DsnFor(first[3])]);
            await Poll.UntilAsync(async () => (await dovecot.CountsAsync(folder, folder + "/Processed")).SequenceEqual([0, 8]), Patience, () => "8 mails in Processed");

            Assert.Equal((6, 0), (Taken(reader), Taken(standby)));
            Assert.Equal(6, (await clients[standby].GetFromJsonAsync<JsonObject>("/v1/bounces"))!["items"]!.AsArray().Count);
            foreach (var sent in first)
            {
                Assert.Equal(["message.sent", "message.bounced"], await EventsAsync(clients[standby], sent));
            }

            // The reader goes (its session, and with it the lock, ends); the other asks again within its poll interval.
            var rest = clients[standby];
            reader.Dispose();
            var later = await SendAsync(rest, "bob@hard.test");
            await dovecot.AppendAsync(folder, DsnFor(later));
            await MailApiFactory.WaitForStatusAsync(rest, (string)later["id"]!, Patience, "bounced");
            await Poll.UntilAsync(async () => (await dovecot.CountsAsync(folder, folder + "/Processed")).SequenceEqual([0, 9]), Patience, () => "9 mails in Processed");
            Assert.True(Reads(standby));
            Assert.Equal(1, Taken(standby));
            Assert.Equal(7, (await rest.GetFromJsonAsync<JsonObject>("/v1/bounces"))!["items"]!.AsArray().Count);
        }
        finally
        {
            a.Dispose();
            b.Dispose();
        }
    }

    [Fact]
    public async Task An_instance_killed_after_storing_a_report_and_before_moving_its_mail_repeats_nothing_after_the_restart()
    {
        var dovecot = DovecotServer.Require();
        var folder = await dovecot.NewFolderAsync();
        await using var relay = await TestSmtpServer.StartAsync();
        var settings = (await SettingsAsync(dovecot, folder)).ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value!);
        settings["Smtp__Host"] = "127.0.0.1";
        settings["Smtp__Port"] = relay.Port.ToString();
        settings["Smtp__Security"] = "None";
        settings["Auth__ApiKeys__0__Bounces"] = "true";
        var logs = Directory.CreateTempSubdirectory("mailapi-imap-kill-").FullName;

        JsonObject sent;
        using (var first = await ServiceProcess.StartAsync(FreePort.Get(), Key, settings, Path.Combine(logs, "first.log")))
        {
            sent = await SendAsync(first.Client, "alice@hard.test");
            // Dovecot cannot write into Processed: the report is stored, and its mail stays where it was.
            await Poll.UntilAsync(() => Directory.Exists(Path.Combine(dovecot.FolderPath(folder + "/Processed"), "tmp")), Patience, "the reader to create Processed");
            using (dovecot.RefuseWrites(folder + "/Processed"))
            {
                await dovecot.AppendAsync(folder, DsnFor(sent));
                // The report is logged after its effect: wait for the log, the last thing the intake does.
                await Poll.UntilAsync(async () => (await first.Client.GetFromJsonAsync<JsonObject>("/v1/bounces"))!["items"]!.AsArray().Count == 1,
                    Patience, () => "the report to be logged");
                first.Kill();
            }
        }
        var left = await dovecot.CountsAsync(folder, folder + "/Processed");
        Assert.Equal([1, 0], left);

        using var second = await ServiceProcess.StartAsync(FreePort.Get(), Key, settings, Path.Combine(logs, "second.log"));
        await Poll.UntilAsync(async () => (await dovecot.CountsAsync(folder, folder + "/Processed")).SequenceEqual([0, 1]), Patience,
            () => $"the mail to be moved to Processed; see {logs}");
        Assert.Single((await second.Client.GetFromJsonAsync<JsonObject>("/v1/bounces"))!["items"]!.AsArray());
        Assert.Equal(["message.sent", "message.bounced"], await EventsAsync(second.Client, sent));
        Assert.Contains("was taken before", File.ReadAllText(Path.Combine(logs, "second.log")));
        Assert.DoesNotContain("Bounce report ", File.ReadAllText(Path.Combine(logs, "second.log")));
    }
}
