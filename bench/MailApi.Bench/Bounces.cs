using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;
using MimeKit;

namespace MailApi.Bench;

/// <summary>One storage mode's run of the IMAP bounce bench.</summary>
internal sealed record BounceRun(string Mode, int Reports, double Seconds, double ReportsPerSecond, int Matched, int Processed, int Unmatched, int LeftInFolder);

/// <summary>
/// <c>bash bench/run.sh --bounces</c>: how fast the IMAP reader takes reports (issue 25's "Measure"). In each storage mode
/// the service sends <c>--bounce-reports</c> (10,000) messages into smtp-sink, each to an address of its own; a Dovecot of
/// the bench's own (tests/relays/dovecot.sh) gets a Postfix DSN for each (the corpus's hard bounce, its envelope id and
/// recipient made the message's), appended to a folder the reader does not watch; then one MOVE puts them all in the
/// reader's folder at once, and the clock runs until every mail is in Processed. Reports per second = reports / that time:
/// reading, matching, bouncing the recipient, the suppression entry, the report log and the move, all of it. Before each
/// mode's reader run, the send rate with bounces on against off (<see cref="BounceSendRate"/>).
/// </summary>
internal static class BounceBench
{
    /// <summary>The corpus DSN and what in it names the message, the recipient and the report.</summary>
    private const string Fixture = "tests/MailApi.Tests/Bounces/Fixtures/postfix-hard.eml";
    private const string FixtureEnvelopeId = "0193f1e2-a7c0-7b1e-9d3f-2c5a8e6b4f10";
    private const string FixtureRecipient = "alice@hard.test";
    private const string FixtureMessageId = "Message-Id: <20261207071825.8E7E4B5540C@relay.mailapi.test>";

    public static async Task<int> RunAsync(string root, BenchOptions o, Dictionary<string, object?> report, Action<string> log)
    {
        var runs = new List<BounceRun>();
        report["bounceReports"] = o.BounceReports;
        report["bounceRuns"] = runs;
        var (sendRuns, dialogues) = (new List<BounceSendRun>(), new List<BounceSendDialogue>());
        report["bounceSendRuns"] = sendRuns;
        report["bounceSendDialogues"] = dialogues;
        var dir = Directory.CreateTempSubdirectory("mailapi-bench-dovecot-").FullName;
        var port = FreePort.Get();
        var script = Path.Combine(root, "tests", "relays", "dovecot.sh");
        var (code, output, _) = await Tool.RunAsync("bash", [script, "start", port.ToString(CultureInfo.InvariantCulture), dir], TimeSpan.FromMinutes(5));
        if (code != 0)
        {
            throw new InvalidOperationException($"dovecot.sh start failed ({code}): {output}");
        }
        try
        {
            var env = File.ReadAllLines(Path.Combine(dir, "dovecot.env")).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
            report["dovecot"] = $"Dovecot {(await Tool.RunAsync("dovecot", ["--version"], TimeSpan.FromSeconds(10))).Output.Trim()}, Maildir, 127.0.0.1";
            var mailbox = new Mailbox(env["DOVECOT_HOST"], int.Parse(env["DOVECOT_PORT"], CultureInfo.InvariantCulture), env["DOVECOT_USER"], env["DOVECOT_PASSWORD"]);
            var dsn = await File.ReadAllTextAsync(Path.Combine(root, Fixture));
            await using var sink = await SmtpSink.StartCountingAsync(1024);
            report["smtpSinkOffersDsn"] = await BounceSendRate.OffersDsnAsync(sink.Port);
            // The send rate with bounces on against off (BounceSendRate.cs), before each mode's reader run.
            async Task SendRateAsync(BenchPostgres? pg, int messages)
            {
                var (r, d) = await BounceSendRate.RunAsync(root, o, sink, pg, messages, log);
                sendRuns.AddRange(r);
                dialogues.AddRange(d);
            }
            if (o.InMemory)
            {
                await SendRateAsync(null, o.Messages);
                runs.Add(await RunModeAsync("inMemory", root, o, sink, mailbox, dsn, null, log));
            }
            if (o.Postgres)
            {
                await using var pg = await BenchPostgres.StartAsync();
                report["postgres"] = $"PostgreSQL {pg.Version}";
                await SendRateAsync(pg, o.PostgresMessages);
                runs.Add(await RunModeAsync("postgreSql", root, o, sink, mailbox, dsn, await pg.CreateDatabaseAsync("mailapi"), log));
            }
        }
        finally
        {
            await Tool.RunAsync("bash", [script, "stop", dir], TimeSpan.FromMinutes(1));
            Directory.Delete(dir, recursive: true);
        }
        report["loadAverageAtEnd"] = string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        var json = JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase });
        var path = Path.GetFullPath(o.Output ?? Path.Combine(root, "bench", "results", "bounces.json"));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, json);
        Console.WriteLine(Render(report, runs, sendRuns, dialogues));
        Console.WriteLine($"JSON: {Path.GetRelativePath(root, path)}");
        return runs.All(r => r.Matched == r.Reports && r.LeftInFolder == 0) && sendRuns.All(r => r.Delivery.Sent == r.Delivery.Messages) ? 0 : 1;
    }

    private static async Task<BounceRun> RunModeAsync(string mode, string root, BenchOptions o, SmtpSink sink, Mailbox mailbox, string dsn,
        string? postgres, Action<string> log)
    {
        var (folder, fill) = (mode, mode + "-fill");
        await mailbox.CreateAsync(folder, fill);
        var settings = new Dictionary<string, string>
        {
            ["Bounces__Enabled"] = "true",
            ["Bounces__Imap__Host"] = mailbox.Host,
            ["Bounces__Imap__Port"] = mailbox.Port.ToString(CultureInfo.InvariantCulture),
            ["Bounces__Imap__Security"] = "None",
            ["Bounces__Imap__Username"] = mailbox.User,
            ["Bounces__Imap__Password"] = mailbox.Password,
            ["Bounces__Imap__Folder"] = folder,
            ["Bounces__Imap__ProcessedFolder"] = folder + "/Processed",
            ["Bounces__Imap__UnmatchedFolder"] = folder + "/Unmatched",
            ["Auth__ApiKeys__0__Bounces"] = "true",
        };
        await using var service = await ServiceProcess.StartAsync(root, sink.Port, o.Concurrency, pool: true, postgres: postgres, settings: settings);
        using var http = new HttpClient { BaseAddress = service.BaseAddress, DefaultRequestHeaders = { { "X-Api-Key", ServiceProcess.ApiKey } }, Timeout = TimeSpan.FromMinutes(2) };
        using var load = new ServiceLoad(service);

        log($"bounces, {mode}: sending {o.BounceReports:N0} messages into smtp-sink");
        var sent = new List<(string Id, string To)>();
        for (var first = 0; first < o.BounceReports; first += 100)
        {
            var to = Enumerable.Range(first, Math.Min(100, o.BounceReports - first)).Select(i => $"r{i}@bounce.bench").ToList();
            var batch = new JsonObject { ["messages"] = new JsonArray([.. to.Select(t => (JsonNode)new JsonObject { ["from"] = "Bench <bench@domain.local>", ["to"] = new JsonArray(t), ["subject"] = "Bounce bench", ["text"] = "Hello" })]) };
            using var response = await http.PostAsJsonAsync("/v1/messages/batch", batch);
            var items = (await response.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray();
            sent.AddRange(items.Select((m, i) => ((string)m!["id"]!, to[i])));
        }
        await load.WaitUntilNothingQueuedAsync(TimeSpan.FromMinutes(10));

        log($"bounces, {mode}: appending {sent.Count:N0} DSNs to {fill}");
        await mailbox.AppendAsync(fill, sent.Select((m, i) => dsn.Replace(FixtureEnvelopeId, m.Id, StringComparison.Ordinal)
            .Replace(FixtureRecipient, m.To, StringComparison.Ordinal)
            .Replace(FixtureMessageId, $"Message-Id: <{i}.bounce-bench@relay.mailapi.test>", StringComparison.Ordinal)));

        log($"bounces, {mode}: one MOVE into {folder}; the clock runs until all are in Processed");
        var watch = Stopwatch.StartNew();
        await mailbox.MoveAllAsync(fill, folder);
        int[] counts;
        while ((counts = await mailbox.CountsAsync(folder, folder + "/Processed", folder + "/Unmatched"))[0] > 0 || counts[1] + counts[2] < sent.Count)
        {
            await Task.Delay(100);
        }
        var seconds = watch.Elapsed.TotalSeconds;
        var matched = await CountMatchedAsync(http);
        var run = new BounceRun(mode, sent.Count, seconds, sent.Count / seconds, matched, counts[1], counts[2], counts[0]);
        log($"bounces, {mode}: {run.ReportsPerSecond:F0} reports/s ({seconds:F1} s); {matched:N0} matched, {counts[1]:N0} in Processed, {counts[2]:N0} in Unmatched");
        return run;
    }

    /// <summary>The matched reports in the log, page by page.</summary>
    private static async Task<int> CountMatchedAsync(HttpClient http)
    {
        var (count, cursor) = (0, (string?)null);
        do
        {
            var page = (await http.GetFromJsonAsync<JsonObject>("/v1/bounces?matched=true&limit=100" + (cursor is null ? "" : "&cursor=" + cursor)))!;
            count += page["items"]!.AsArray().Count;
            cursor = (string?)page["nextCursor"];
        }
        while (cursor is not null);
        return count;
    }

    private static string Render(Dictionary<string, object?> r, List<BounceRun> runs, List<BounceSendRun> sendRuns, List<BounceSendDialogue> dialogues)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"MailApi IMAP bounce bench, {r["date"]}, {r["machine"]}");
        sb.AppendLine($"Command: {r["command"]}; load average (1, 5, 15 min) at start: {r["loadAverageAtStart"]}, at end: {r["loadAverageAtEnd"]}");
        sb.AppendLine($"{r["dovecot"]}{(r.GetValueOrDefault("postgres") is string pg ? $"; {pg}, the bench's own cluster" : "")}");
        sb.AppendLine();
        sb.AppendLine("| mode | reports in the mailbox | seconds until all moved | reports/s | matched | in Processed | in Unmatched |");
        sb.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var run in runs)
        {
            sb.AppendLine($"| {(run.Mode == "inMemory" ? "in memory" : "PostgreSQL")} | {run.Reports:N0} | {run.Seconds:F1} | {run.ReportsPerSecond:N0} | {run.Matched:N0} | {run.Processed:N0} | {run.Unmatched:N0} |");
        }
        sb.AppendLine();
        sb.AppendLine("Send rate into smtp-sink, end to end, bounces on (DSN parameters, token return path) against off:");
        sb.AppendLine();
        BounceSendRate.Render(sb, sendRuns, dialogues, r.GetValueOrDefault("smtpSinkOffersDsn") is true);
        return sb.ToString();
    }

    /// <summary>The bench's Dovecot user, over MailKit.</summary>
    private sealed record Mailbox(string Host, int Port, string User, string Password)
    {
        private async Task<ImapClient> ConnectAsync()
        {
            var client = new ImapClient { Timeout = 600_000 };
            await client.ConnectAsync(Host, Port, SecureSocketOptions.None);
            await client.AuthenticateAsync(User, Password);
            return client;
        }

        public async Task CreateAsync(params string[] folders)
        {
            using var client = await ConnectAsync();
            foreach (var folder in folders)
            {
                await client.GetFolder(client.PersonalNamespaces[0]).CreateAsync(folder, isMessageFolder: true);
            }
            await client.DisconnectAsync(true);
        }

        /// <summary>Appends the mails, 500 to a command (MULTIAPPEND).</summary>
        public async Task AppendAsync(string folder, IEnumerable<string> mails)
        {
            using var client = await ConnectAsync();
            var target = await client.GetFolderAsync(folder);
            foreach (var chunk in mails.Chunk(500))
            {
                await target.AppendAsync([.. chunk.Select(m => (IAppendRequest)new AppendRequest(MimeMessage.Load(new MemoryStream(Encoding.UTF8.GetBytes(m)))))]);
            }
            await client.DisconnectAsync(true);
        }

        public async Task MoveAllAsync(string from, string to)
        {
            using var client = await ConnectAsync();
            var source = await client.GetFolderAsync(from);
            await source.OpenAsync(FolderAccess.ReadWrite);
            await source.MoveToAsync(UniqueIdRange.All, await client.GetFolderAsync(to));
            await client.DisconnectAsync(true);
        }

        public async Task<int[]> CountsAsync(params string[] folders)
        {
            using var client = await ConnectAsync();
            var counts = new List<int>();
            foreach (var name in folders)
            {
                try
                {
                    var folder = await client.GetFolderAsync(name);
                    await folder.StatusAsync(StatusItems.Count);
                    counts.Add(folder.Count);
                }
                catch (FolderNotFoundException)
                {
                    counts.Add(0);
                }
            }
            await client.DisconnectAsync(true);
            return [.. counts];
        }
    }
}
