using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using MailApi.Bench;

// The MailApi benchmark: bash bench/run.sh [--messages N] [--concurrency C] [--ingest-seconds S] [--no-postfix] [--smoke]
// Everything listens on 127.0.0.1 and ends with the run. See bench/README.md.
var options = BenchOptions.Parse(args);
var root = BenchOptions.FindRoot();
var c = options.Concurrency;
var n = options.Messages;
var report = new Dictionary<string, object?>
{
    ["date"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture),
    ["machine"] = $"{Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {Memory()} RAM, .NET {Environment.Version}",
    ["command"] = "bash bench/run.sh " + string.Join(' ', args),
    ["messages"] = n,
    ["concurrency"] = c,
    ["messageBytes"] = "~2 KB (2,000 bytes of text)",
    ["loadAverageAtStart"] = LoadAverage(),
};
var warmUps = new Dictionary<string, IReadOnlyList<double>>();
report["warmUps"] = warmUps;
void Log(string line) => Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {line}");
if (options.Suppressions)
{
    return await SuppressionBench.RunAsync(root, options, report, Log); // bench/MailApi.Bench/Suppressions.cs
}
if (options.Bounces)
{
    return await BounceBench.RunAsync(root, options, report, Log); // bench/MailApi.Bench/Bounces.cs
}

await using (var sink = await SmtpSink.StartCountingAsync(1024))
{
    Log($"smtp-sink on 127.0.0.1:{sink.Port}; the limits first");
    report["smtpSourceIntoSink"] = await Limits.SmtpSourceAsync(sink.Port, c, n);
    report["mailKitLoopOneConnection"] = await Limits.MailKitLoopAsync(sink.Port, 1, n);
    report["mailKitLoopConcurrent"] = await Limits.MailKitLoopAsync(sink.Port, c, n);
    Log($"smtp-source {report["smtpSourceIntoSink"]:F0}/s, MailKit x1 {report["mailKitLoopOneConnection"]:F0}/s, MailKit x{c} {report["mailKitLoopConcurrent"]:F0}/s");

    if (options.InMemory)
    {
        await using (var service = await ServiceProcess.StartAsync(root, sink.Port, c, pool: true))
        using (var load = new ServiceLoad(service))
        {
            Log($"service (reuse on) pid {service.ProcessId}: warm-up, then {n} messages");
            await WarmAsync(load, "inMemory", sink);
            await load.DeliverAsync(Math.Min(1000, n));
            var from = DateTimeOffset.UtcNow;
            var delivery = await load.DeliverAsync(n);
            report["deliveryIntoSink"] = delivery;
            report["deliveryThreadPool"] = service.ThreadPoolBetween(from, DateTimeOffset.UtcNow);
            report["drainIntoSink"] = Drain(await load.DrainAsync(n, delivery.SubmitPerSecond));
            Log($"delivered {delivery.MessagesPerSecond:F0}/s; light-load latency next");
            report["acceptToSentLightLoad"] = await LightAsync(load, options.LatencyMessages);
            report["serviceRss"] = new { afterRunBytes = service.Rss };
            Log($"batches: {options.BatchMessages} messages, {BenchOptions.BatchSize} a request");
            report["batchIntoSink"] = await load.DeliverAsync(options.BatchMessages, BenchOptions.BatchSize);
        }
    }

    if (options.InMemory && options.TwoRelays)
    {
        var relays = await RelayBench.RunAsync(root, sink, c, n, Log, load => WarmAsync(load, "twoRelays", null));
        report["twoRelays"] = relays;
        Log($"two relays: {relays.Spread.MessagesPerSecond:F0}/s spread ({relays.SpreadFirst}/{relays.SpreadSecond}), {relays.Failover.MessagesPerSecond:F0}/s past a dead primary");
    }

    if (options.InMemory && options.Webhooks)
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var service = await ServiceProcess.StartAsync(root, sink.Port, c, pool: true, settings: WebhookBench.Settings);
        using var load = new ServiceLoad(service);
        Log($"webhooks: one endpoint subscribed to every event at {receiver.Url}; warm-up, {options.LatencyMessages} one at a time, then {n} messages");
        await WarmAsync(load, "inMemoryWebhooks", sink);
        await load.DeliverAsync(Math.Min(1000, n));
        var figures = await WebhookBench.RunAsync(service, load, receiver, options.LatencyMessages, n);
        report["webhooks"] = figures;
        Log($"webhooks: delivered {figures.Delivery.MessagesPerSecond:F0}/s, event to webhook p50 {figures.LoadedP50Ms:F0} ms, p99 {figures.LoadedP99Ms:F0} ms");
    }

    if (options.InMemory && !options.OnlyDelivery)
    {
        await using (var service = await ServiceProcess.StartAsync(root, sink.Port, c, pool: true))
        {
            using (var warm = new ServiceLoad(service))
            {
                await WarmAsync(warm, "inMemoryIngestion", sink);
            }
            Log("POST latency at one connection (wrk -c1; its own deliveries run meanwhile), then without deliveries (sendAt in an hour)");
            report["ingestionOneConnection"] = await Wrk.RunAsync(service, 1, TimeSpan.FromSeconds(options.OneConnectionSeconds), sink);
            report["ingestionOneConnectionScheduled"] = await Wrk.RunAsync(service, 1, TimeSpan.FromSeconds(options.OneConnectionSeconds), sink, scheduled: true);
            report["ingestionScheduled"] = await Wrk.RunAsync(service, BenchOptions.PostgresIngestConnections, TimeSpan.FromSeconds(options.OneConnectionSeconds), sink, scheduled: true);
            // One run posts more than is delivered meanwhile: each waits for the queue the runs before left to empty, or
            // their backlog reaches Limits:MaxPendingMessages and a later run measures back-pressure's quick 503s.
            using var load = new ServiceLoad(service);
            var runs = new List<IngestionFigures>();
            foreach (var connections in options.IngestConnections)
            {
                await load.WaitUntilNothingQueuedAsync(TimeSpan.FromMinutes(5));
                Log($"ingestion with wrk, {connections} connections, {options.IngestSeconds} s, deliveries running");
                runs.Add(await Wrk.RunAsync(service, connections, TimeSpan.FromSeconds(options.IngestSeconds), sink));
            }
            report["ingestion"] = runs;
            report["ingestionPeakRssBytes"] = service.PeakRss;
        }

        await using (var service = await ServiceProcess.StartAsync(root, sink.Port, c, pool: false))
        using (var load = new ServiceLoad(service))
        {
            Log($"service (reuse off, naive) pid {service.ProcessId}: {n} messages");
            await WarmAsync(load, "inMemoryNaive", sink);
            await load.DeliverAsync(Math.Min(1000, n));
            var naive = await load.DeliverAsync(n);
            report["naiveIntoSink"] = naive;
            report["naiveDrainIntoSink"] = Drain(await load.DrainAsync(n, naive.SubmitPerSecond));
        }
    }

    if (options.Postgres)
    {
        await PostgresAsync(sink);
    }
}

if (options.Postfix && options.InMemory && !options.OnlyDelivery)
{
    await using var postfix = await BenchPostfix.StartAsync(root);
    Log($"Postfix on 127.0.0.1:{postfix.Port}: smtp-source, then the service");
    report["smtpSourceIntoPostfix"] = await Limits.SmtpSourceAsync(postfix.Port, c, n);
    await using var service = await ServiceProcess.StartAsync(root, postfix.Port, c, pool: true);
    using var load = new ServiceLoad(service);
    await WarmAsync(load, "intoPostfix", null);
    await load.DeliverAsync(Math.Min(1000, n));
    var intoPostfix = await load.DeliverAsync(n);
    report["deliveryIntoPostfix"] = intoPostfix;
    report["drainIntoPostfix"] = Drain(await load.DrainAsync(n, intoPostfix.SubmitPerSecond));
}

report["loadAverageAtEnd"] = LoadAverage();
var json = JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase });
var output = Path.GetFullPath(options.Output ?? Path.Combine(root, "bench", "results", "latest.json"));
Directory.CreateDirectory(Path.GetDirectoryName(output)!);
await File.WriteAllTextAsync(output, json);
Console.WriteLine(Table.Render(report, options));
Console.WriteLine($"JSON: {Path.GetRelativePath(root, output)}");
return 0;

// Every measured service is warmed up first (ServiceLoad.WarmUpAsync); what each warm-up saw goes into the JSON.
async Task WarmAsync(ServiceLoad load, string what, SmtpSink? relay)
{
    var slices = await load.WarmUpAsync(options.WarmUpSeconds, relay);
    lock (warmUps)
    {
        warmUps[what] = slices;
    }
    Log($"{what}: warmed up; POSTs per second in each {ServiceLoad.WarmUpSlice.TotalSeconds:F0} s slice: {(slices.Count == 0 ? "none (--warmup-seconds 0)" : string.Join(", ", slices.Select(r => r.ToString("F0", CultureInfo.InvariantCulture))))}");
}

static DrainFigures Drain((double Rate, int Sent, bool InTime) d) => new(d.Rate, d.Sent, d.InTime);

static async Task<LightLoad> LightAsync(ServiceLoad load, int count)
{
    var (p50, p95, p99) = await load.LightLoadLatencyAsync(count);
    return new LightLoad(count, p50, p95, p99);
}

// PostgreSQL mode, beside the in-memory runs: the bench's own cluster (Debian's defaults, fsync on), a fresh database per
// service; Hangfire.PostgreSql's own ceiling first and last (the drift between the two says how noisy the run was),
// its variants after the service's runs.
async Task PostgresAsync(SmtpSink sink)
{
    await using var pg = await BenchPostgres.StartAsync();
    report["postgres"] = $"PostgreSQL {pg.Version}";
    Log($"PostgreSQL {pg.Version} on 127.0.0.1:{pg.Port}; Hangfire.PostgreSql's ceiling first ({options.CeilingJobs} empty jobs)");
    var ceilings = new List<CeilingFigures>();
    // Round robin: every variant once per round, the baseline first in each; the first round before the service's runs,
    // the others after them. On a shared machine a single run of each would mostly measure the neighbours.
    async Task Round(int round)
    {
        foreach (var variant in ((string[])["baseline", "service", .. options.CeilingVariants]).Distinct())
        {
            var figures = await HangfireCeiling.RunAsync(root, pg, variant, round, options.CeilingJobs, 16, c);
            ceilings.Add(figures);
            report["hangfireCeiling"] = ceilings;
            Log($"ceiling round {round} {variant}: {figures.JobsPerSecond:F0} jobs/s end to end, enqueue {figures.EnqueuePerSecond:F0}/s");
        }
    }
    if (options.CeilingRounds > 0)
    {
        await Round(1);
    }

    var pgn = options.PostgresMessages;
    var connection = "";
    if (options.PgPhase("single") || options.PgPhase("batch"))
    {
        connection = await pg.CreateDatabaseAsync("mailapi");
        await using (var service = await ServiceProcess.StartAsync(root, sink.Port, c, pool: true, postgres: connection))
        await using (var stats = new DatabaseStats(connection))
        using (var load = new ServiceLoad(service, new DatabaseFinalStatus(stats)))
        {
            Log($"service on PostgreSQL pid {service.ProcessId}: idle statements for 5 s");
            await stats.ResetAsync();
            await Task.Delay(TimeSpan.FromSeconds(5));
            report["pgIdlePerSecond"] = await stats.ReadAsync(5, TimeSpan.Zero);
            Log($"warm-up, then {pgn} messages end to end");
            await WarmAsync(load, "postgres", sink);
            await load.DeliverAsync(Math.Min(200, pgn));
            var cpu = new CpuMeter(service.ProcessId);
            if (options.PgPhase("single"))
            {
                await stats.ResetAsync();
                cpu.Reset();
                var from = DateTimeOffset.UtcNow;
                var figures = await load.DeliverAsync(pgn);
                report["pgDelivery"] = figures;
                report["pgDeliveryCpu"] = cpu.Per(pgn);
                report["pgDeliveryThreadPool"] = service.ThreadPoolBetween(from, DateTimeOffset.UtcNow);
                report["pgDeliveryStatements"] = await stats.ReadAsync(pgn, TimeSpan.FromSeconds(1.5));
                Log($"delivered {figures.MessagesPerSecond:F0}/s; {report["pgDeliveryCpu"]}");
            }
            Log($"batches: {options.BatchMessages} messages, {BenchOptions.BatchSize} a request");
            await stats.ResetAsync();
            cpu.Reset();
            var batch = await load.DeliverAsync(options.BatchMessages, BenchOptions.BatchSize);
            report["pgBatch"] = batch;
            report["pgBatchCpu"] = cpu.Per(options.BatchMessages);
            report["pgBatchStatements"] = await stats.ReadAsync(options.BatchMessages, TimeSpan.FromSeconds(1.5));
            Log($"batches delivered {batch.MessagesPerSecond:F0}/s; {report["pgBatchCpu"]}");
            if (report.GetValueOrDefault("pgDelivery") is DeliveryFigures single)
            {
                Log("queue drain");
                report["pgDrain"] = Drain(await load.DrainAsync(pgn, single.SubmitPerSecond));
                Log("light-load latency");
                report["pgAcceptToSentLightLoad"] = await LightAsync(load, options.LatencyMessages);
            }
        }
    }

    // Two instances on one database: what the pair delivers beside one instance (same machine, so the cores are shared).
    if (options.PgPhase("pair"))
    {
        connection = await pg.CreateDatabaseAsync("mailapi");
        await using (var first = await ServiceProcess.StartAsync(root, sink.Port, c, pool: true, postgres: connection))
        await using (var second = await ServiceProcess.StartAsync(root, sink.Port, c, pool: true, postgres: connection))
        await using (var stats = new DatabaseStats(connection))
        using (var one = new ServiceLoad(first, new DatabaseFinalStatus(stats)))
        using (var two = new ServiceLoad(second, new DatabaseFinalStatus(stats)))
        {
            Log($"two instances on one database (pids {first.ProcessId}, {second.ProcessId}): warm-up, then {pgn} messages, half through each");
            await Task.WhenAll(WarmAsync(one, "postgresPairFirst", sink), WarmAsync(two, "postgresPairSecond", sink));
            await one.DeliverPairAsync(two, Math.Min(200, pgn));
            await stats.ResetAsync();
            report["pgPair"] = await one.DeliverPairAsync(two, pgn);
            report["pgPairStatements"] = await stats.ReadAsync(pgn, TimeSpan.FromSeconds(1.5));
        }
    }

    if (options.Webhooks && options.PgPhase("webhooks"))
    {
        connection = await pg.CreateDatabaseAsync("mailapi");
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var service = await ServiceProcess.StartAsync(root, sink.Port, c, pool: true, postgres: connection, settings: WebhookBench.Settings);
        await using var stats = new DatabaseStats(connection);
        using var load = new ServiceLoad(service, new DatabaseFinalStatus(stats));
        Log($"webhooks on PostgreSQL: warm-up, {options.LatencyMessages} one at a time, then {pgn} messages");
        await WarmAsync(load, "postgresWebhooks", sink);
        await load.DeliverAsync(Math.Min(200, pgn));
        // CPU and statements from the loaded run's first POST until its last webhook arrived.
        var cpu = new CpuMeter(service.ProcessId);
        var figures = await WebhookBench.RunAsync(service, load, receiver, options.LatencyMessages, pgn, async () =>
        {
            await stats.ResetAsync();
            cpu.Reset();
        });
        report["pgWebhooks"] = figures;
        report["pgWebhooksCpu"] = cpu.Per(pgn);
        report["pgWebhooksStatements"] = await stats.ReadAsync(pgn, TimeSpan.FromSeconds(1.5));
        Log($"webhooks on PostgreSQL: delivered {figures.Delivery.MessagesPerSecond:F0}/s, event to webhook p50 {figures.LoadedP50Ms:F0} ms, p99 {figures.LoadedP99Ms:F0} ms");
    }

    if (options.PgPhase("ingestion"))
    {
        connection = await pg.CreateDatabaseAsync("mailapi");
        await using (var service = await ServiceProcess.StartAsync(root, sink.Port, c, pool: true, postgres: connection))
        await using (var stats = new DatabaseStats(connection))
        using (var load = new ServiceLoad(service, new DatabaseFinalStatus(stats)))
        {
            await WarmAsync(load, "postgresIngestion", sink);
            await load.DeliverAsync(Math.Min(200, pgn));
            Log("POST latency at one connection (wrk -c1; its own deliveries run meanwhile), then the POST path alone (sendAt in an hour)");
            report["pgIngestionOneConnection"] = await Wrk.RunAsync(service, 1, TimeSpan.FromSeconds(options.OneConnectionSeconds), sink);
            report["pgIngestionOneConnectionScheduled"] = await Wrk.RunAsync(service, 1, TimeSpan.FromSeconds(options.OneConnectionSeconds), sink, scheduled: true);
            await stats.ResetAsync();
            var alone = await Wrk.RunAsync(service, BenchOptions.PostgresIngestConnections, TimeSpan.FromSeconds(options.OneConnectionSeconds), sink, scheduled: true);
            report["pgIngestionScheduled"] = alone;
            report["pgIngestionScheduledStatements"] = await stats.ReadAsync(alone.RequestsPerSecond * alone.Seconds, TimeSpan.Zero);
            Log($"ingestion on PostgreSQL with wrk, {BenchOptions.PostgresIngestConnections} connections, {options.IngestSeconds} s, deliveries running");
            await stats.ResetAsync();
            var wrk = await Wrk.RunAsync(service, BenchOptions.PostgresIngestConnections, TimeSpan.FromSeconds(options.IngestSeconds), sink);
            report["pgIngestion"] = wrk;
            report["pgIngestionStatements"] = await stats.ReadAsync(wrk.RequestsPerSecond * wrk.Seconds, TimeSpan.Zero);
            report["pgIngestionPeakRssBytes"] = service.PeakRss;
        }
    }

    for (var round = 2; round <= options.CeilingRounds; round++)
    {
        await Round(round);
    }
}

// Other work on a shared machine takes CPU from every figure here; the load average says how much there was.
static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

static string Memory()
{
    var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
    return $"{long.Parse(line[9..].Trim().Split(' ')[0]) / 1024 / 1024} GB";
}

namespace MailApi.Bench
{
    internal sealed record LightLoad(int Messages, double P50Ms, double P95Ms, double P99Ms);

    internal sealed record DrainFigures(double MessagesPerSecond, int Sent, bool SubmittedBeforeSendAt);

    internal sealed class BenchOptions
    {
        public int Messages { get; private set; } = 10_000;
        public int Concurrency { get; private set; } = 16;
        public int IngestSeconds { get; private set; } = 10;
        public int[] IngestConnections { get; private set; } = [16, 32, 64];
        public int OneConnectionSeconds { get; private set; } = 5;
        public int LatencyMessages { get; private set; } = 200;
        /// <summary>How long each service is warmed up before it is measured (ServiceLoad.WarmUpAsync).</summary>
        public int WarmUpSeconds { get; private set; } = 45;
        public bool Postfix { get; private set; } = true;
        public bool InMemory { get; private set; } = true;
        public bool Postgres { get; private set; } = true;
        public bool Webhooks { get; private set; } = true;
        public bool TwoRelays { get; private set; } = true;
        public int PostgresMessages { get; private set; } = 2000;
        public int BatchMessages { get; private set; } = 3000;
        public int CeilingJobs { get; private set; } = 1000;
        public int CeilingRounds { get; private set; } = 2;
        /// <summary>Variants beyond "baseline" (Hangfire's defaults with the service's storage options, before issue 15) and
        /// "service" (what the service runs with now); e.g. nofilters, nocontinuations, noreset, asynccommit, poll=50, expire.</summary>
        public string[] CeilingVariants { get; private set; } = [];
        /// <summary>PostgreSQL phases to run (single, batch, pair, webhooks, ingestion); all unless --pg-phases names some.</summary>
        private static readonly string[] AllPgPhases = ["single", "batch", "pair", "webhooks", "ingestion"];

        public string[] PgPhases { get; private set; } = AllPgPhases;

        /// <summary>Every PostgreSQL phase runs, so the PostgreSQL table has all its rows.</summary>
        public bool AllPgPhasesRun => AllPgPhases.All(PgPhase);

        public bool PgPhase(string phase) => PgPhases.Contains(phase);

        public const int BatchSize = 100;
        public const int PostgresIngestConnections = 32;
        public string? Output { get; private set; }
        public bool OnlyDelivery { get; private set; }
        /// <summary>Only the suppression list's cost (Suppressions.cs): entries on the full list, seconds and rounds of the lookup alone.</summary>
        public bool Suppressions { get; private set; }
        public int SuppressionEntries { get; private set; } = 100_000;
        public double LookupSeconds { get; private set; } = 1;
        public int LookupRounds { get; private set; } = 5;
        /// <summary>Only the IMAP bounce reader (Bounces.cs): how many DSNs the mailbox holds.</summary>
        public bool Bounces { get; private set; }
        public int BounceReports { get; private set; } = 10_000;

        public static BenchOptions Parse(string[] args)
        {
            var o = new BenchOptions();
            bool smoke = false, postgres = false;
            for (var i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                switch (args[i])
                {
                    case "--messages": o.Messages = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--concurrency": o.Concurrency = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--ingest-seconds": o.IngestSeconds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--latency-messages": o.LatencyMessages = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--warmup-seconds": o.WarmUpSeconds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--no-postfix": o.Postfix = false; break;
                    case "--no-postgres": o.Postgres = false; break;
                    case "--no-webhooks": o.Webhooks = false; break;
                    case "--no-relays": o.TwoRelays = false; break;
                    case "--postgres": postgres = true; break; // with --smoke: the PostgreSQL part too, tiny
                    case "--only-postgres": o.InMemory = false; o.Postfix = false; break; // the limits, then only PostgreSQL mode
                    case "--pg-messages": o.PostgresMessages = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--batch-messages": o.BatchMessages = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--ceiling-rounds": o.CeilingRounds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--ceiling-jobs": o.CeilingJobs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--ceiling-variants": o.CeilingVariants = Next().Split(',', StringSplitOptions.RemoveEmptyEntries); break;
                    case "--pg-phases": o.PgPhases = Next().Split(',', StringSplitOptions.RemoveEmptyEntries); break; // e.g. pair: only that, for profiling
                    case "--only-delivery": o.OnlyDelivery = true; break; // the limits and the reuse-on run into smtp-sink, for profiling

                    case "--suppressions": o.Suppressions = true; break;
                    case "--suppression-entries": o.SuppressionEntries = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--bounces": o.Bounces = true; break;
                    case "--bounce-reports": o.BounceReports = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--out": o.Output = Next(); break;
                    case "--smoke":
                        // A few seconds, for CI: proves the benchmark still runs; its figures mean nothing. PostgreSQL is
                        // left out unless --postgres is given too (then it is tiny, and needs PostgreSQL installed).
                        smoke = true;
                        o.Messages = 300; o.WarmUpSeconds = 0; o.IngestSeconds = 1; o.IngestConnections = [16]; o.OneConnectionSeconds = 1; o.LatencyMessages = 10; o.Postfix = false;
                        o.PostgresMessages = 40; o.BatchMessages = 200; o.CeilingJobs = 50; o.CeilingRounds = 1; o.CeilingVariants = ["nocontinuations+noreset"];
                        o.SuppressionEntries = 1000; o.LookupSeconds = 0.1; o.LookupRounds = 1; o.BounceReports = 100;
                        o.Output ??= Path.Combine(Path.GetTempPath(), "mailapi-bench-smoke.json");
                        break;
                    default: throw new ArgumentException($"Unknown option {args[i]}");
                }
            }
            if ((smoke && !postgres) || o.OnlyDelivery)
            {
                o.Postgres = false;
            }
            if (o.OnlyDelivery)
            {
                o.Webhooks = false;
                o.TwoRelays = false;
            }
            return o;
        }

        public static string FindRoot()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "MailApi.sln")))
                {
                    return dir.FullName;
                }
            }
            throw new InvalidOperationException("MailApi.sln not found above " + AppContext.BaseDirectory);
        }
    }

    internal static class Table
    {
        public static string Render(Dictionary<string, object?> r, BenchOptions o)
        {
            var c = o.Concurrency;
            var sb = new StringBuilder();
            sb.AppendLine($"MailApi benchmark, {r["date"]}, {r["machine"]}");
            sb.AppendLine($"Command: {r["command"]}; {o.Messages:N0} messages of ~2 KB, {c} workers / connections");
            sb.AppendLine($"Load average (1, 5, 15 min) at start: {r["loadAverageAtStart"]}, at end: {r["loadAverageAtEnd"]}");
            if (r.TryGetValue("postgres", out var version))
            {
                sb.AppendLine($"{version}; the bench's own cluster (initdb defaults + pg_stat_statements), 127.0.0.1");
            }
            sb.AppendLine();
            if (r.ContainsKey("deliveryIntoSink"))
            {
                InMemory(sb, r, o);
            }
            if (o.AllPgPhasesRun && r.ContainsKey("pgDelivery") && r.ContainsKey("hangfireCeiling"))
            {
                sb.AppendLine();
                Postgres(sb, r, o);
            }
            else if (r.GetValueOrDefault("pgPair") is DeliveryFigures pair)
            {
                sb.AppendLine($"two instances on one database: {pair.MessagesPerSecond:N0} msg/s (POSTs {pair.SubmitPerSecond:N0}/s), accept → sent p50 {pair.AcceptToSentP50Ms:N0} ms, p99 {pair.AcceptToSentP99Ms:N0} ms (the rest in the JSON)");
            }
            return sb.ToString();
        }

        private static void InMemory(StringBuilder sb, Dictionary<string, object?> r, BenchOptions o)
        {
            var c = o.Concurrency;
            sb.AppendLine("| measure | MailApi | limit measured in the same run | ratio |");
            sb.AppendLine("|---|---|---|---|");
            var sinkLoop = (double)r["mailKitLoopConcurrent"]!;
            var sinkSource = (double)r["smtpSourceIntoSink"]!;
            var d = (DeliveryFigures)r["deliveryIntoSink"]!;
            var drain = (DrainFigures)r["drainIntoSink"]!;
            var one = (double)r["mailKitLoopOneConnection"]!;
            sb.AppendLine($"| delivery into smtp-sink, reuse on, queue drain (all due at once, nothing else running) | {drain.MessagesPerSecond:N0} msg/s{Late(drain)} | MailKit loop ×{c}: {sinkLoop:N0} msg/s | {drain.MessagesPerSecond / sinkLoop:P0} |");
            sb.AppendLine($"| ″ | ″ | smtp-source ×{c}: {sinkSource:N0} msg/s | {drain.MessagesPerSecond / sinkSource:P0} |");
            sb.AppendLine($"| ″ | ″ | MailKit loop ×1 (one reused connection): {one:N0} msg/s | {drain.MessagesPerSecond / one:P0} |");
            sb.AppendLine($"| delivery into smtp-sink, reuse on, end to end (POST by 32 clients → 250, both at once) | {d.MessagesPerSecond:N0} msg/s | MailKit loop ×{c}: {sinkLoop:N0} msg/s | {d.MessagesPerSecond / sinkLoop:P0} |");
            sb.AppendLine($"| ″ | ″ | smtp-source ×{c}: {sinkSource:N0} msg/s | {d.MessagesPerSecond / sinkSource:P0} |");
            if (r.TryGetValue("batchIntoSink", out var b) && b is DeliveryFigures batch)
            {
                sb.AppendLine($"| delivery into smtp-sink, end to end, batch POSTs ({BenchOptions.BatchSize} a request, 8 at a time, {batch.Messages:N0} messages) | {batch.MessagesPerSecond:N0} msg/s | single POSTs: {d.MessagesPerSecond:N0} msg/s | {batch.MessagesPerSecond / d.MessagesPerSecond:F1}× |");
            }
            if (r.TryGetValue("naiveIntoSink", out var nv) && nv is DeliveryFigures naive)
            {
                var naiveDrain = (DrainFigures)r["naiveDrainIntoSink"]!;
                sb.AppendLine($"| delivery into smtp-sink, reuse off (naive), queue drain | {naiveDrain.MessagesPerSecond:N0} msg/s{Late(naiveDrain)} | reuse on: {drain.MessagesPerSecond:N0} msg/s | reuse is {drain.MessagesPerSecond / naiveDrain.MessagesPerSecond:F1}× faster |");
                sb.AppendLine($"| delivery into smtp-sink, reuse off (naive), end to end | {naive.MessagesPerSecond:N0} msg/s | reuse on: {d.MessagesPerSecond:N0} msg/s | {d.MessagesPerSecond / naive.MessagesPerSecond:F1}× |");
                sb.AppendLine($"| relay connections that carried the {o.Messages:N0} end-to-end messages | reuse on: {d.Connections:N0}, off: {naive.Connections:N0} | | |");
            }
            if (r.TryGetValue("deliveryIntoPostfix", out var p) && p is DeliveryFigures pf)
            {
                var source = (double)r["smtpSourceIntoPostfix"]!;
                var pd = (DrainFigures)r["drainIntoPostfix"]!;
                sb.AppendLine($"| delivery into real Postfix (disk queue), reuse on, queue drain | {pd.MessagesPerSecond:N0} msg/s{Late(pd)} | smtp-source ×{c} into it: {source:N0} msg/s | {pd.MessagesPerSecond / source:P0} |");
                sb.AppendLine($"| delivery into real Postfix, reuse on, end to end | {pf.MessagesPerSecond:N0} msg/s | smtp-source ×{c} into it: {source:N0} msg/s | {pf.MessagesPerSecond / source:P0} |");
            }
            if (r.TryGetValue("ingestion", out var ing) && ing is List<IngestionFigures> runs)
            {
                foreach (var w in runs)
                {
                    sb.AppendLine($"| ingestion POST /v1/messages, wrk {w.Connections} connections, {w.Seconds:F0} s, deliveries running | {Wrk(w)} | target ≥ 5,000 req/s at p99 < 50 ms | {w.RequestsPerSecond / 5000:P0} of target; meanwhile {w.DeliveredPerSecond:N0} msg/s delivered{Pool(w)} |");
                }
            }
            if (r.GetValueOrDefault("twoRelays") is RelayFigures two)
            {
                sb.AppendLine($"| delivery end to end, two smtp-sinks as two relays of one priority, {c / 2} connections each ({two.Spread.Messages:N0} messages: {two.SpreadFirst:N0} / {two.SpreadSecond:N0}) | {two.Spread.MessagesPerSecond:N0} msg/s | one relay, {c} connections: {d.MessagesPerSecond:N0} msg/s | {two.Spread.MessagesPerSecond / d.MessagesPerSecond:P0} |");
                sb.AppendLine($"| delivery end to end, a primary on a closed port before one backup ({two.FailedOver:N0} messages failed over before the primary was paused) | {two.Failover.MessagesPerSecond:N0} msg/s | one relay: {d.MessagesPerSecond:N0} msg/s | {two.Failover.MessagesPerSecond / d.MessagesPerSecond:P0} |");
            }
            if (r.GetValueOrDefault("webhooks") is WebhookFigures hooks)
            {
                Webhooks(sb, hooks, d);
            }
            var light = (LightLoad)r["acceptToSentLightLoad"]!;
            sb.AppendLine($"| accept-to-sent at light load ({light.Messages} one at a time, in-memory) | p50 {light.P50Ms:F1} ms, p95 {light.P95Ms:F1} ms, p99 {light.P99Ms:F1} ms | target p50 < 25 ms | |");
            sb.AppendLine($"| accept-to-sent during the {o.Messages:N0} run (queueing included) | p50 {d.AcceptToSentP50Ms:N0} ms, p99 {d.AcceptToSentP99Ms:N0} ms | | |");
            sb.AppendLine($"| service memory (RSS) over the {o.Messages:N0} run | before {Mb(d.RssBeforeBytes)}, peak {Mb(d.PeakRssBytes)}, after {Mb(d.RssAfterBytes)}: {d.GrowthPerMessageBytes / 1024:F1} KB per message kept | in-memory store keeps every message | |");
            sb.AppendLine($"| submission (32 .NET clients) during the delivery run | {d.SubmitPerSecond:N0} req/s | | |");
        }

        private static void Postgres(StringBuilder sb, Dictionary<string, object?> r, BenchOptions o)
        {
            var ceilings = (List<CeilingFigures>)r["hangfireCeiling"]!;
            var baselines = ceilings.Where(f => f.Variant == "baseline").ToList();
            var services = ceilings.Where(f => f.Variant == "service").ToList();
            var before = baselines[0];
            // The target compares the service with Hangfire on the same setup it runs with now ("service"); the baseline
            // (Hangfire's defaults) shows how far that setup lifted the ceiling.
            var ceiling = services.Average(f => f.JobsPerSecond);
            var mem = r.TryGetValue("deliveryIntoSink", out var m) ? m as DeliveryFigures : null;
            var memBatch = r.TryGetValue("batchIntoSink", out var mb) ? mb as DeliveryFigures : null;
            var memDrain = r.TryGetValue("drainIntoSink", out var md) ? md as DrainFigures : null;
            var memWrk = r.TryGetValue("ingestion", out var mi) && mi is List<IngestionFigures> runs
                ? runs.FirstOrDefault(w => w.Connections == BenchOptions.PostgresIngestConnections) : null;
            var memOne = r.TryGetValue("ingestionOneConnection", out var mo) ? mo as IngestionFigures : null;
            var memLight = r.TryGetValue("acceptToSentLightLoad", out var ml) ? ml as LightLoad : null;
            var single = (DeliveryFigures)r["pgDelivery"]!;
            var batch = (DeliveryFigures)r["pgBatch"]!;
            var drain = (DrainFigures)r["pgDrain"]!;
            var wrk = (IngestionFigures)r["pgIngestion"]!;
            var one = (IngestionFigures)r["pgIngestionOneConnection"]!;
            var light = (LightLoad)r["pgAcceptToSentLightLoad"]!;
            string Ratio(double pg, double? memory) => memory is { } x && x > 0 ? $"{pg / x:P0}" : "";

            sb.AppendLine($"PostgreSQL mode beside in-memory ({o.PostgresMessages:N0} messages a PostgreSQL run; in-memory runs {o.Messages:N0}; batches {o.BatchMessages:N0} in both)");
            sb.AppendLine();
            sb.AppendLine("| measure | in-memory | PostgreSQL | PostgreSQL ÷ in-memory | PostgreSQL target |");
            sb.AppendLine("|---|---|---|---|---|");
            sb.AppendLine($"| ingestion, wrk {wrk.Connections} connections, {wrk.Seconds:F0} s, deliveries running | {(memWrk is null ? "" : Wrk(memWrk))} | {Wrk(wrk)} | {Ratio(wrk.RequestsPerSecond, memWrk?.RequestsPerSecond)} | p99 < 100 ms: {(wrk.P99Ms < 100 ? "met" : $"not met ({wrk.P99Ms:F0} ms)")} |");
            sb.AppendLine($"| ″ delivered meanwhile; the service's thread pool (bench/MailApi.BenchProbe, every 100 ms) | {(memWrk is null ? "" : $"{memWrk.DeliveredPerSecond:N0} msg/s{Pool(memWrk)}")} | {wrk.DeliveredPerSecond:N0} msg/s{Pool(wrk)} | | |");
            string One(IngestionFigures? w) => w is null ? "" : $"{w.RequestsPerSecond:N0} req/s, p50 {w.P50Ms:F2} ms, p99 {w.P99Ms:F2} ms";
            var memOneScheduled = r.GetValueOrDefault("ingestionOneConnectionScheduled") as IngestionFigures;
            var memScheduled = r.GetValueOrDefault("ingestionScheduled") as IngestionFigures;
            var oneScheduled = (IngestionFigures)r["pgIngestionOneConnectionScheduled"]!;
            var scheduled = (IngestionFigures)r["pgIngestionScheduled"]!;
            sb.AppendLine($"| POST latency, wrk 1 connection, {one.Seconds:F0} s (its own deliveries running) | {One(memOne)} | {One(one)} | | |");
            sb.AppendLine($"| POST path alone (sendAt in an hour: no delivery), wrk 1 connection, {oneScheduled.Seconds:F0} s | {One(memOneScheduled)} | {One(oneScheduled)} | | |");
            sb.AppendLine($"| POST path alone, wrk {scheduled.Connections} connections, {scheduled.Seconds:F0} s | {(memScheduled is null ? "" : Wrk(memScheduled) + Pool(memScheduled))} | {Wrk(scheduled)}{Pool(scheduled)} | {Ratio(scheduled.RequestsPerSecond, memScheduled?.RequestsPerSecond)} | |");
            var target80 = 0.8 * ceiling;
            sb.AppendLine($"| end to end, single-message POSTs (32 clients) → smtp-sink's 250 | {(mem is null ? "" : $"{mem.MessagesPerSecond:N0} msg/s")} | {single.MessagesPerSecond:N0} msg/s (POSTs {single.SubmitPerSecond:N0}/s) | {Ratio(single.MessagesPerSecond, mem?.MessagesPerSecond)} | ≥ 80 % of Hangfire's ceiling ({ceiling:N0} jobs/s → {target80:N0}): {single.MessagesPerSecond / ceiling:P0}, {(single.MessagesPerSecond >= target80 ? "met" : "not met")} |");
            sb.AppendLine($"| end to end, batch POSTs ({BenchOptions.BatchSize} a request, 8 at a time) | {(memBatch is null ? "" : $"{memBatch.MessagesPerSecond:N0} msg/s")} | {batch.MessagesPerSecond:N0} msg/s (accepted {batch.SubmitPerSecond:N0} msg/s) | {Ratio(batch.MessagesPerSecond, memBatch?.MessagesPerSecond)} | ≥ 50 % of in-memory batches: {(memBatch is null ? "" : batch.MessagesPerSecond >= 0.5 * memBatch.MessagesPerSecond ? "met" : "not met")} |");
            sb.AppendLine($"| queue drain (all due at once) | {(memDrain is null ? "" : $"{memDrain.MessagesPerSecond:N0} msg/s")} | {drain.MessagesPerSecond:N0} msg/s{Late(drain)} | {Ratio(drain.MessagesPerSecond, memDrain?.MessagesPerSecond)} | |");
            sb.AppendLine($"| accept → sent at light load ({light.Messages} one at a time) | {(memLight is null ? "" : $"p50 {memLight.P50Ms:F1} ms, p95 {memLight.P95Ms:F1} ms")} | p50 {light.P50Ms:F1} ms, p95 {light.P95Ms:F1} ms, p99 {light.P99Ms:F1} ms | | |");
            string Tp(object? t) => t is ThreadPoolFigures f ? $"queue mean {f.QueueLengthMean:F1}, max {f.QueueLengthMax:F0}; threads ≤ {f.ThreadsMax:F0}; service CPU {f.CpuCores:F2} cores; {f.LockContentionsPerSecond:N0} lock contentions/s" : "";
            sb.AppendLine($"| the service's thread pool during the end-to-end run | {Tp(r.GetValueOrDefault("deliveryThreadPool"))} | {Tp(r.GetValueOrDefault("pgDeliveryThreadPool"))} | | |");
            static string Cpu(object? c) => c is CpuFigures f
                ? $"service {f.ServiceMsPerMessage:F2} ms, PostgreSQL {f.PostgresMsPerMessage:F2} ms, the rest (bench, smtp-sink) {f.OtherMsPerMessage:F2} ms"
                : "";
            sb.AppendLine($"| CPU time per message, single POSTs / batch POSTs (/proc: the service, every postgres process, the machine's rest) | | {Cpu(r.GetValueOrDefault("pgDeliveryCpu"))} / {Cpu(r.GetValueOrDefault("pgBatchCpu"))} | | |");
            if (r.GetValueOrDefault("pgWebhooksCpu") is CpuFigures webhookCpu)
            {
                sb.AppendLine($"| CPU time per message, single POSTs with one webhook endpoint (until its last webhook arrived) | | {Cpu(webhookCpu)} | | |");
            }
            sb.AppendLine($"| accept → sent during the end-to-end run | {(mem is null ? "" : $"p50 {mem.AcceptToSentP50Ms:N0} ms, p99 {mem.AcceptToSentP99Ms:N0} ms")} | p50 {single.AcceptToSentP50Ms:N0} ms, p99 {single.AcceptToSentP99Ms:N0} ms | | |");
            sb.AppendLine($"| service memory (RSS) over the end-to-end run | {(mem is null ? "" : $"before {Mb(mem.RssBeforeBytes)}, peak {Mb(mem.PeakRssBytes)}, after {Mb(mem.RssAfterBytes)}")} | before {Mb(single.RssBeforeBytes)}, peak {Mb(single.PeakRssBytes)}, after {Mb(single.RssAfterBytes)} | | |");
            if (r.GetValueOrDefault("pgPair") is DeliveryFigures pair)
            {
                sb.AppendLine($"| end to end, two instances on one database (half the POSTs through each, 16 clients each) | | {pair.MessagesPerSecond:N0} msg/s (POSTs {pair.SubmitPerSecond:N0}/s); one instance: {single.MessagesPerSecond:N0} msg/s ({pair.MessagesPerSecond / single.MessagesPerSecond:F2}×) | | accept → sent p50 {pair.AcceptToSentP50Ms:N0} ms, p99 {pair.AcceptToSentP99Ms:N0} ms |");
            }
            if (r.GetValueOrDefault("pgWebhooks") is WebhookFigures pw)
            {
                sb.AppendLine($"| delivery end to end with one webhook endpoint subscribed to every event | {(r.GetValueOrDefault("webhooks") is WebhookFigures mw ? $"{mw.Delivery.MessagesPerSecond:N0} msg/s" : "")} | {pw.Delivery.MessagesPerSecond:N0} msg/s; without it {single.MessagesPerSecond:N0} msg/s ({pw.Delivery.MessagesPerSecond / single.MessagesPerSecond:P0}) | | holds: {(pw.Delivery.MessagesPerSecond >= 0.9 * single.MessagesPerSecond ? "yes" : "no")} (within 10 %) |");
                sb.AppendLine($"| event → webhook 2xx, light load ({pw.LightMessages} one at a time) / during that run ({pw.Delivery.Sent:N0} message.sent events) | | p50 {pw.LightP50Ms:F0} ms, p99 {pw.LightP99Ms:F0} ms / p50 {pw.LoadedP50Ms:N0} ms, p99 {pw.LoadedP99Ms:N0} ms; last webhook {pw.LastWebhookAfterLastSentMs:N0} ms after the last sent | | |");
            }
            sb.AppendLine($"| Hangfire.PostgreSql's ceiling, Hangfire's defaults (before), empty jobs, 16 producers, {o.Concurrency} workers (each round) | | {string.Join(", ", baselines.Select(f => $"{f.JobsPerSecond:N0}"))} jobs/s, mean {baselines.Average(f => f.JobsPerSecond):N0} | | |");
            sb.AppendLine($"| Hangfire.PostgreSql's ceiling, the service's setup now (no unused filters, no DISCARD ALL, asynchronous commits) | | {string.Join(", ", services.Select(f => $"{f.JobsPerSecond:N0}"))} jobs/s, mean {ceiling:N0} (enqueue alone {string.Join(", ", services.Select(f => $"{f.EnqueuePerSecond:N0}"))}/s) | | |");
            sb.AppendLine();

            sb.AppendLine("Statements and commits per message (pg_stat_statements reset before each phase; commits = pg_stat_database xact_commit delta)");
            sb.AppendLine();
            sb.AppendLine("| phase | MailApi's tables | Hangfire's schema | DISCARD ALL | BEGIN / COMMIT | other | all statements | commits | database time |");
            sb.AppendLine("|---|---|---|---|---|---|---|---|---|");
            void Row(string phase, StatementFigures s, string unit) =>
                sb.AppendLine($"| {phase} | {s.MailApiPerMessage:F1} | {s.HangfirePerMessage:F1} | {s.DiscardAllPerMessage:F1} | {s.TransactionControlPerMessage:F1} | {s.OtherPerMessage:F1} | {s.TotalPerMessage:F1} | {s.CommitsPerMessage:F1} | {s.DatabaseMsPerMessage:F2} ms{unit} |");
            Row($"end to end, single POSTs, per message ({o.PostgresMessages:N0})", (StatementFigures)r["pgDeliveryStatements"]!, "");
            Row($"end to end, batch POSTs, per message ({o.BatchMessages:N0})", (StatementFigures)r["pgBatchStatements"]!, "");
            if (r.GetValueOrDefault("pgPairStatements") is StatementFigures pairStatements)
            {
                Row($"end to end, two instances on one database, per message ({o.PostgresMessages:N0})", pairStatements, "");
            }
            if (r.GetValueOrDefault("pgWebhooksStatements") is StatementFigures webhookStatements)
            {
                Row($"end to end, single POSTs with one webhook endpoint (every event), per message ({o.PostgresMessages:N0}; until the last webhook)", webhookStatements, "");
            }
            Row("POST path alone (sendAt in an hour), per POST", (StatementFigures)r["pgIngestionScheduledStatements"]!, "");
            Row("wrk phase, per accepted POST (deliveries of earlier POSTs included)", (StatementFigures)r["pgIngestionStatements"]!, "");
            Row("idle service, per second (pollers, heartbeats)", (StatementFigures)r["pgIdlePerSecond"]!, "/s");
            foreach (var job in (CeilingFigures[])[before, services[0]])
            {
                if (job.HangfirePerJob is { } h)
                {
                    sb.AppendLine($"| Hangfire's ceiling, per empty job ({job.Variant}) | – | {h:F1} | {job.DiscardAllPerJob:F1} | {job.TransactionControlPerJob:F1} | | {h + job.DiscardAllPerJob + job.TransactionControlPerJob:F1} | {job.CommitsPerJob:F1} | |");
                }
            }
            sb.AppendLine();

            var rounds = ceilings.Max(f => f.Round);
            sb.AppendLine($"Hangfire.PostgreSql's ceiling by variant (MailApi.HangfireCeiling, {before.Jobs:N0} empty jobs a run, a fresh database each; {rounds} round(s), every variant once a round, round 1 before the service's runs)");
            sb.AppendLine();
            sb.AppendLine($"| variant | end to end, each round | mean | ÷ baseline mean | enqueue alone (mean) | Hangfire statements / job | DISCARD ALL / job | BEGIN+COMMIT / job | commits / job | machine CPU busy (system) |");
            sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
            foreach (var g in ceilings.GroupBy(f => f.Variant))
            {
                var f = g.First();
                var mean = g.Average(x => x.JobsPerSecond);
                sb.AppendLine($"| {g.Key} | {string.Join(", ", g.Select(x => $"{x.JobsPerSecond:N0}"))} jobs/s | {mean:N0} jobs/s | {mean / ceiling:P0} | {g.Average(x => x.EnqueuePerSecond):N0}/s | {g.Average(x => x.HangfirePerJob):F1} | {g.Average(x => x.DiscardAllPerJob):F1} | {g.Average(x => x.TransactionControlPerJob):F1} | {g.Average(x => x.CommitsPerJob):F1} | {g.Average(x => x.MachineCpuBusy):P0} ({g.Average(x => x.MachineCpuSystem):P0}) |");
            }
            sb.AppendLine();
            sb.AppendLine("Variants: nofilters = CaptureCulture and StatisticsHistory removed from GlobalJobFilters; nocontinuations = those and ContinuationsSupport;");
            sb.AppendLine("noreset = No Reset On Close=true (no DISCARD ALL); poll=MS = QueuePollInterval;");
            sb.AppendLine("expire = JobExpirationTimeout 5 s, checked every 5 s. The service itself runs the baseline.");
            sb.AppendLine();

            void Top(string title, StatementFigures figures)
            {
                sb.AppendLine(title);
                sb.AppendLine();
                sb.AppendLine("| kind | calls / message | mean | ms / message | statement |");
                sb.AppendLine("|---|---|---|---|---|");
                foreach (var st in figures.Top)
                {
                    sb.AppendLine($"| {st.Kind} | {st.CallsPerMessage:F2} | {st.MeanMs:F3} ms | {st.MsPerMessage:F3} | `{st.Query.Replace("|", "\\|")}` |");
                }
                sb.AppendLine();
            }
            Top($"Statements of the single-POST end-to-end run, per message ({o.PostgresMessages:N0} messages), most called first", (StatementFigures)r["pgDeliveryStatements"]!);
            Top("Statements of the POST path alone (sendAt in an hour, wrk 32 connections), per POST", (StatementFigures)r["pgIngestionScheduledStatements"]!);
        }

        private static void Webhooks(StringBuilder sb, WebhookFigures w, DeliveryFigures without)
        {
            var d = w.Delivery;
            sb.AppendLine($"| event → webhook 2xx at light load ({w.LightMessages} messages one at a time; one endpoint subscribed to every event) | p50 {w.LightP50Ms:F1} ms, p99 {w.LightP99Ms:F1} ms | | |");
            sb.AppendLine($"| delivery into smtp-sink, end to end, with that endpoint subscribed ({d.Messages:N0} messages) | {d.MessagesPerSecond:N0} msg/s | without it: {without.MessagesPerSecond:N0} msg/s | {d.MessagesPerSecond / without.MessagesPerSecond:P0} |");
            sb.AppendLine($"| event → webhook 2xx during that run ({d.Sent:N0} message.sent events, {w.Requests:N0} requests, {w.Repeated} repeated) | p50 {w.LoadedP50Ms:N0} ms, p99 {w.LoadedP99Ms:N0} ms; last webhook {w.LastWebhookAfterLastSentMs:N0} ms after the last sent | | |");
        }

        private static string Wrk(IngestionFigures w) =>
            $"{w.RequestsPerSecond:N0} req/s, p50 {w.P50Ms:F1} ms, p99 {w.P99Ms:F1} ms{(w.Non2xx > 0 ? $", {w.Non2xx} non-2xx" : "")}";

        private static string Pool(IngestionFigures w) =>
            w.ThreadPool is { } t ? $"; thread-pool queue mean {t.QueueLengthMean:F1}, max {t.QueueLengthMax:F0}, threads ≤ {t.ThreadsMax:F0}, service CPU {t.CpuCores:F2} cores" : "";

        private static string Late(DrainFigures d) => d.SubmittedBeforeSendAt ? "" : " (some submitted after sendAt)";

        private static string Mb(long bytes) => $"{bytes / 1024.0 / 1024.0:F0} MB";
    }
}
