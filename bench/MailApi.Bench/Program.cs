using System.Globalization;
using System.Runtime.InteropServices;
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
if (options.FixedRateRounds > 0)
{
    // For profiling the in-memory fixed-rate run alone: one warmed service, that run a few times over (BENCH_SERVICE_ENV sets
    // its runtime settings, e.g. DOTNET_gcServer=0).
    await using var sink = await SmtpSink.StartCountingAsync(1024);
    await using var service = await ServiceProcess.StartAsync(root, sink.Port, c, pool: true);
    using var load = new ServiceLoad(service);
    await WarmAsync(load, "fixedRate", sink);
    for (var round = 1; round <= options.FixedRateRounds; round++)
    {
        await load.WaitUntilNothingQueuedAsync(TimeSpan.FromMinutes(5));
        var figures = await FixedRate.RunAsync(service, BenchOptions.FixedRateInMemory, TimeSpan.FromSeconds(options.IngestSeconds), sink);
        Console.WriteLine($"round {round}: {Table.Fixed(figures)}");
    }
    return 0;
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
            report["drainIntoSink"] = DrainFigures.Of(await load.DrainAsync(n, delivery.SubmitPerSecond));
            Log($"delivered {delivery.MessagesPerSecond:F0}/s; light-load latency next");
            report["acceptToSentLightLoad"] = await LightLoad.MeasureAsync(load, options.LatencyMessages);
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
            Log("POST latency at one connection (wrk -c1; its own deliveries run meanwhile)");
            report["ingestionOneConnection"] = await Wrk.RunAsync(service, 1, TimeSpan.FromSeconds(options.OneConnectionSeconds), sink);
            // One run posts more than is delivered meanwhile: each waits for the queue the runs before left to empty, or
            // their backlog reaches Limits:MaxPendingMessages and a later run measures back-pressure's quick 503s. The
            // POST-path runs (sendAt in an hour) come last: their messages stay pending, and count toward that limit.
            using var load = new ServiceLoad(service);
            var runs = new List<IngestionFigures>();
            foreach (var connections in options.IngestConnections)
            {
                await load.WaitUntilNothingQueuedAsync(TimeSpan.FromMinutes(5));
                Log($"ingestion with wrk, {connections} connections, {options.IngestSeconds} s, deliveries running");
                runs.Add(await Wrk.RunAsync(service, connections, TimeSpan.FromSeconds(options.IngestSeconds), sink));
            }
            report["ingestion"] = runs;
            var closing = await ClosingRuns.RunAsync(service, load, sink, BenchOptions.FixedRateInMemory, options, "", Log);
            report["fixedRate"] = closing.FixedRate;
            report["ingestionOneConnectionScheduled"] = closing.OneConnection;
            report["ingestionScheduled"] = closing.Alone;
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
            report["naiveDrainIntoSink"] = DrainFigures.Of(await load.DrainAsync(n, naive.SubmitPerSecond));
        }
    }

    if (options.Postgres)
    {
        await PostgresMode.RunAsync(root, options, report, sink, Log, WarmAsync); // bench/MailApi.Bench/PostgresMode.cs
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
    report["drainIntoPostfix"] = DrainFigures.Of(await load.DrainAsync(n, intoPostfix.SubmitPerSecond));
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

// Other work on a shared machine takes CPU from every figure here; the load average says how much there was.
static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

static string Memory()
{
    var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
    return $"{long.Parse(line[9..].Trim().Split(' ')[0]) / 1024 / 1024} GB";
}

namespace MailApi.Bench
{
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
        /// <summary>The fixed POST rates whose p99 issue 28 sets a target for, with deliveries running: in memory, and on PostgreSQL.</summary>
        public const int FixedRateInMemory = 2000;
        public const int FixedRatePostgres = 500;
        public string? Output { get; private set; }
        public bool OnlyDelivery { get; private set; }
        /// <summary>Only the in-memory fixed-rate run, this many times on one service (for profiling); 0: the whole bench.</summary>
        public int FixedRateRounds { get; private set; }
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
                    case "--only-fixed-rate": o.FixedRateRounds = int.Parse(Next(), CultureInfo.InvariantCulture); break; // N rounds, for profiling

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
}
