using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MailApi.Bench;

/// <summary>One wrk run of the suppression bench: the key's list had Entries entries; Recipients 1: each POST to one
/// address, not on the list; 2: to that one and one on the list (when it has entries).</summary>
internal sealed record SuppressionRun(string Mode, int Entries, int Round, int Recipients, IngestionFigures Wrk);

/// <summary>One cell of bench/MailApi.SuppressionLookup: one FindAsync for a request of <paramref name="Recipients"/>, none on the list.</summary>
internal sealed record LookupCell(string Mode, int Entries, int Recipients, long Lookups, double WallMicrosPerLookup, double[] WallMicrosEachRound,
    double ClientCpuMicrosPerLookup, double? ServerCpuMicrosPerLookup);

/// <summary>
/// <c>bash bench/run.sh --suppressions</c>: what a key's suppression list costs a send (issue 26's "Measure"). For each
/// storage mode, the POST rate (wrk, deliveries into smtp-sink running) with the posting key's list empty and with
/// <c>--suppression-entries</c> (100,000) on it, back to back, two rounds (empty, full, full, empty); then the lookup alone, in process
/// (MailApi.SuppressionLookup). In memory the list is filled by PUTs over the API onto a second key's list (the lists are
/// a dictionary per key, so the bench key's stays empty); on PostgreSQL by one insert … select generate_series into the
/// table the service migrated, truncated again for each empty run.
/// </summary>
internal static class SuppressionBench
{
    private const string ListedKey = "bench-listed-api-key";
    private const int Rounds = 2;

    /// <summary>The second key of the in-memory run, whose list is filled.</summary>
    private static readonly Dictionary<string, string> ListedKeySettings = new()
    {
        ["Auth__ApiKeys__1__Name"] = "bench-listed",
        ["Auth__ApiKeys__1__Key"] = ListedKey,
        ["Auth__ApiKeys__1__AllowedSenders__0"] = "*",
    };

    public static async Task<int> RunAsync(string root, BenchOptions o, Dictionary<string, object?> report, Action<string> log)
    {
        var runs = new List<SuppressionRun>();
        report["suppressionEntries"] = o.SuppressionEntries;
        report["suppressionRuns"] = runs;
        await using (var sink = await SmtpSink.StartCountingAsync(1024))
        {
            if (o.InMemory)
            {
                await using var service = await ServiceProcess.StartAsync(root, sink.Port, o.Concurrency, pool: true, settings: ListedKeySettings);
                using var load = new ServiceLoad(service);
                using var listed = new ServiceLoad(service, apiKey: ListedKey);
                await WarmAsync(load, sink, o, log, "in memory");
                var watch = Stopwatch.StartNew();
                await PutAllAsync(service, o.SuppressionEntries);
                report["inMemoryFillSeconds"] = watch.Elapsed.TotalSeconds;
                log($"in memory: {o.SuppressionEntries:N0} entries PUT on the second key's list in {watch.Elapsed.TotalSeconds:F1} s");
                await CheckListedAsync(service, ListedKey);
                await MeasureAsync("inMemory", service, [load, listed], sink, o, runs, log,
                    entries => Task.FromResult(entries == 0 ? ServiceProcess.ApiKey : ListedKey));
            }
            if (o.Postgres)
            {
                await using var pg = await BenchPostgres.StartAsync();
                report["postgres"] = $"PostgreSQL {pg.Version}";
                var connection = await pg.CreateDatabaseAsync("mailapi");
                await using (var service = await ServiceProcess.StartAsync(root, sink.Port, o.Concurrency, pool: true, postgres: connection))
                await using (var stats = new DatabaseStats(connection))
                using (var load = new ServiceLoad(service, new DatabaseFinalStatus(stats)))
                {
                    await WarmAsync(load, sink, o, log, "PostgreSQL");
                    var fills = new List<double>();
                    report["postgresFillSeconds"] = fills;
                    await MeasureAsync("postgreSql", service, [load], sink, o, runs, log, async entries =>
                    {
                        await SuppressionFill.EmptyAsync(stats.Source);
                        if (entries > 0)
                        {
                            var watch = Stopwatch.StartNew();
                            await SuppressionFill.FillAsync(stats.Source, "bench", entries);
                            fills.Add(watch.Elapsed.TotalSeconds);
                            await CheckListedAsync(service, ServiceProcess.ApiKey);
                        }
                        return ServiceProcess.ApiKey;
                    });
                }
                await LookupsAsync(root, o, report, log, pg);
            }
            else
            {
                await LookupsAsync(root, o, report, log, null);
            }
        }
        report["loadAverageAtEnd"] = string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        var json = JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase });
        var output = Path.GetFullPath(o.Output ?? Path.Combine(root, "bench", "results", "suppressions.json"));
        Directory.CreateDirectory(Path.GetDirectoryName(output)!);
        await File.WriteAllTextAsync(output, json);
        Console.WriteLine(Render(report, o));
        Console.WriteLine($"JSON: {Path.GetRelativePath(root, output)}");
        return 0;
    }

    private static async Task WarmAsync(ServiceLoad load, SmtpSink sink, BenchOptions o, Action<string> log, string mode)
    {
        log($"suppressions, {mode}: warm-up ({o.WarmUpSeconds} s)");
        var slices = await load.WarmUpAsync(o.WarmUpSeconds, sink);
        log($"{mode}: warmed up; POSTs per second in each slice: {string.Join(", ", slices.Select(r => r.ToString("F0", CultureInfo.InvariantCulture)))}");
    }

    /// <summary>
    /// The wrk runs, after one not counted: empty list, then full, then full, then empty (<see cref="Rounds"/> rounds); then each POST to two recipients, one of them
    /// (<c>s1@listed.bench</c>) on the full list. <paramref name="list"/> makes the key's list hold that many entries and
    /// gives the key to POST with.
    /// </summary>
    private static async Task MeasureAsync(string mode, ServiceProcess service, ServiceLoad[] loads, SmtpSink sink, BenchOptions o,
        List<SuppressionRun> runs, Action<string> log, Func<int, Task<string>> list)
    {
        var two = JsonNode.Parse(Payload.Json())!;
        two["to"] = new JsonArray("sink@domain.local", SuppressionFill.Address(1));
        // Empty then full, then full then empty (ABBA): a drift of the machine's load during the runs weighs on both alike.
        var plans = Enumerable.Range(1, Rounds).SelectMany(round => round % 2 == 1
                ? new[] { (round, 0, 1), (round, o.SuppressionEntries, 1) }
                : [(round, o.SuppressionEntries, 1), (round, 0, 1)])
            .Concat([(1, 0, 2), (1, o.SuppressionEntries, 2)]);
        // The first wrk run after the warm-up was the slowest on PostgreSQL in each of four runs of this bench (the cause
        // was not looked into): one run of the empty list first that is not counted.
        await list(0);
        var settle = await Wrk.RunAsync(service, BenchOptions.PostgresIngestConnections, TimeSpan.FromSeconds(o.IngestSeconds), sink);
        log($"{mode}: a first run, not counted: {settle.RequestsPerSecond:F0} POSTs/s");
        foreach (var (round, entries, recipients) in plans)
        {
            var key = await list(entries);
            foreach (var load in loads)
            {
                await load.WaitUntilNothingQueuedAsync(TimeSpan.FromMinutes(5));
            }
            var wrk = await Wrk.RunAsync(service, BenchOptions.PostgresIngestConnections, TimeSpan.FromSeconds(o.IngestSeconds), sink,
                body: recipients == 2 ? two.ToJsonString() : null, apiKey: key);
            runs.Add(new SuppressionRun(mode, entries, round, recipients, wrk));
            log($"{mode}, list of {entries:N0}, {recipients} recipient(s), round {round}: {wrk.RequestsPerSecond:F0} POSTs/s, p50 {wrk.P50Ms:F1} ms, p99 {wrk.P99Ms:F1} ms{(wrk.Non2xx > 0 ? $", {wrk.Non2xx} non-2xx" : "")}");
        }
    }

    /// <summary>PUT <c>s1…sN@listed.bench</c> on the second key's list, 32 at a time.</summary>
    private static async Task PutAllAsync(ServiceProcess service, int entries)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64, UseProxy = false })
        {
            BaseAddress = service.BaseAddress,
            DefaultRequestHeaders = { { "X-Api-Key", ListedKey } },
        };
        var next = 0;
        await Task.WhenAll(Enumerable.Range(0, 32).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) <= entries)
            {
                using var content = new StringContent("{}", Encoding.UTF8, "application/json");
                using var response = await http.PutAsync($"/v1/suppressions/{Uri.EscapeDataString(SuppressionFill.Address(i))}", content);
                if (response.StatusCode != HttpStatusCode.Created)
                {
                    throw new InvalidOperationException($"PUT of {SuppressionFill.Address(i)} answered {(int)response.StatusCode}");
                }
            }
        }));
    }

    /// <summary>The service sees the filled list under <paramref name="key"/>: the first and the last address are on it.</summary>
    private static async Task CheckListedAsync(ServiceProcess service, string key)
    {
        using var http = new HttpClient { BaseAddress = service.BaseAddress, DefaultRequestHeaders = { { "X-Api-Key", key } } };
        using var response = await http.GetAsync($"/v1/suppressions/{Uri.EscapeDataString(SuppressionFill.Address(1))}");
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"The filled list is not the key's: GET of {SuppressionFill.Address(1)} answered {(int)response.StatusCode}");
        }
    }

    /// <summary>bench/MailApi.SuppressionLookup, on two fresh databases of the bench's cluster when there is one.</summary>
    private static async Task LookupsAsync(string root, BenchOptions o, Dictionary<string, object?> report, Action<string> log, BenchPostgres? pg)
    {
        var dll = Path.Combine(root, "bench", "MailApi.SuppressionLookup", "bin", "Release", "net10.0", "MailApi.SuppressionLookup.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException("Build it first: dotnet build -c Release bench/MailApi.SuppressionLookup (bench/run.sh does)", dll);
        }
        List<string> args = [dll, "--entries", o.SuppressionEntries.ToString(CultureInfo.InvariantCulture), "--seconds", o.LookupSeconds.ToString(CultureInfo.InvariantCulture),
            "--rounds", o.LookupRounds.ToString(CultureInfo.InvariantCulture)];
        if (pg is not null)
        {
            args.AddRange(["--empty", await pg.CreateDatabaseAsync("lookup"), "--listed", await pg.CreateDatabaseAsync("lookup")]);
        }
        log($"the lookup alone, in process (MailApi.SuppressionLookup): {o.LookupSeconds} s a cell, {o.LookupRounds} rounds");
        var (code, output, _) = await Tool.RunAsync("dotnet", args, TimeSpan.FromMinutes(15));
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith('{'));
        if (code != 0 || line is null)
        {
            throw new InvalidOperationException($"MailApi.SuppressionLookup failed ({code}): {output}");
        }
        var result = JsonNode.Parse(line)!;
        report["suppressionNormalizeMicros"] = (double)result["normalizeMicrosPerAddress"]!;
        report["suppressionLookups"] = (List<LookupCell>)[.. result["cells"]!.AsArray().Select(c => new LookupCell((string)c!["mode"]!, (int)c["entries"]!, (int)c["recipients"]!, (long)c["lookups"]!,
            (double)c["wallMicrosPerLookup"]!, [.. c["wallMicrosEachRound"]!.AsArray().Select(r => (double)r!)], (double)c["clientCpuMicrosPerLookup"]!,
            (double?)c["serverCpuMicrosPerLookup"]))];
    }

    private static string Render(Dictionary<string, object?> r, BenchOptions o)
    {
        var sb = new StringBuilder();
        var n = o.SuppressionEntries;
        sb.AppendLine($"MailApi suppression bench, {r["date"]}, {r["machine"]}");
        sb.AppendLine($"Command: {r["command"]}; load average (1, 5, 15 min) at start: {r["loadAverageAtStart"]}, at end: {r["loadAverageAtEnd"]}");
        if (r.GetValueOrDefault("postgres") is string version)
        {
            sb.AppendLine($"{version}; the bench's own cluster");
        }
        sb.AppendLine();
        sb.AppendLine($"POST /v1/messages, wrk {BenchOptions.PostgresIngestConnections} connections, {o.IngestSeconds} s a run, deliveries into smtp-sink running; runs in the order made, back to back");
        sb.AppendLine();
        sb.AppendLine("| mode | the key's list | each POST to | POSTs/s, each run | mean | ÷ empty list | p50, each run | p99, each run |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|");
        var runs = (List<SuppressionRun>)r["suppressionRuns"]!;
        foreach (var g in runs.GroupBy(x => (x.Mode, x.Recipients, x.Entries)))
        {
            var mean = g.Average(x => x.Wrk.RequestsPerSecond);
            var empty = runs.Where(x => x.Mode == g.Key.Mode && x.Recipients == g.Key.Recipients && x.Entries == 0).Average(x => x.Wrk.RequestsPerSecond);
            var to = g.Key.Recipients == 1 ? "1 address, not on the list" : g.Key.Entries > 0 ? "2 addresses, 1 on the list" : "2 addresses, none on the list";
            var non2xx = g.Sum(x => x.Wrk.Non2xx);
            sb.AppendLine($"| {Mode(g.Key.Mode)} | {(g.Key.Entries == 0 ? "empty" : $"{g.Key.Entries:N0} entries")} | {to} | "
                + $"{string.Join(", ", g.Select(x => x.Wrk.RequestsPerSecond.ToString("N0", CultureInfo.InvariantCulture)))}{(non2xx > 0 ? $" ({non2xx} non-2xx)" : "")} | {mean:N0} | "
                + $"{(g.Key.Entries == 0 ? "" : (mean / empty).ToString("P0", CultureInfo.InvariantCulture))} | "
                + $"{string.Join(", ", g.Select(x => x.Wrk.P50Ms.ToString("F1", CultureInfo.InvariantCulture)))} ms | {string.Join(", ", g.Select(x => x.Wrk.P99Ms.ToString("F0", CultureInfo.InvariantCulture)))} ms |");
        }
        sb.AppendLine();
        var cells = (List<LookupCell>)r["suppressionLookups"]!;
        var rounds = cells.FirstOrDefault()?.WallMicrosEachRound.Length ?? 0;
        sb.AppendLine($"The lookup alone (ISuppressionStore.FindAsync, one call for a request's recipients, none on the list), in process, one caller, {o.LookupSeconds} s a cell, median of {rounds} rounds");
        sb.AppendLine();
        sb.AppendLine("| mode | the key's list | recipients a lookup | µs a lookup (wall) | µs a recipient | this process's CPU µs a lookup | PostgreSQL backend CPU µs a lookup | wall µs, each round |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var c in cells)
        {
            sb.AppendLine($"| {Mode(c.Mode)} | {(c.Entries == 0 ? "empty" : $"{c.Entries:N0} entries")} | {c.Recipients} | {c.WallMicrosPerLookup:F2} | {c.WallMicrosPerLookup / c.Recipients:F3} | "
                + $"{c.ClientCpuMicrosPerLookup:F2} | {(c.ServerCpuMicrosPerLookup is { } s ? s.ToString("F1", CultureInfo.InvariantCulture) : "–")} | "
                + $"{string.Join(", ", c.WallMicrosEachRound.Select(w => w.ToString("F2", CultureInfo.InvariantCulture)))} |");
        }
        sb.AppendLine();
        sb.AppendLine($"Before the lookup each recipient is put in the list's normal form (SuppressionAddress.Of): {r["suppressionNormalizeMicros"]:F2} µs an address. The list held {n:N0} entries when full.");
        return sb.ToString();
    }

    private static string Mode(string mode) => mode == "inMemory" ? "in memory" : "PostgreSQL";
}
