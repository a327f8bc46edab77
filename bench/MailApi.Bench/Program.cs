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
void Log(string line) => Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {line}");

await using (var sink = await SmtpSink.StartAsync())
{
    Log($"smtp-sink on 127.0.0.1:{sink.Port}; the limits first");
    report["smtpSourceIntoSink"] = await Limits.SmtpSourceAsync(sink.Port, c, n);
    report["mailKitLoopOneConnection"] = await Limits.MailKitLoopAsync(sink.Port, 1, n);
    report["mailKitLoopConcurrent"] = await Limits.MailKitLoopAsync(sink.Port, c, n);
    Log($"smtp-source {report["smtpSourceIntoSink"]:F0}/s, MailKit x1 {report["mailKitLoopOneConnection"]:F0}/s, MailKit x{c} {report["mailKitLoopConcurrent"]:F0}/s");

    await using (var service = await ServiceProcess.StartAsync(root, sink.Port, c, pool: true))
    using (var load = new ServiceLoad(service))
    {
        Log($"service (reuse on) pid {service.ProcessId}: warm-up, then {n} messages");
        await load.DeliverAsync(Math.Min(1000, n));
        var delivery = await load.DeliverAsync(n);
        report["deliveryIntoSink"] = delivery;
        report["drainIntoSink"] = Drain(await load.DrainAsync(n, delivery.SubmitPerSecond));
        Log($"delivered {delivery.MessagesPerSecond:F0}/s; light-load latency next");
        var (p50, p99) = await load.LightLoadLatencyAsync(options.LatencyMessages);
        report["acceptToSentLightLoad"] = new LightLoad(options.LatencyMessages, p50, p99);
        report["serviceRss"] = new { afterRunBytes = service.Rss };
    }

    if (options.OnlyDelivery)
    {
        return 0;
    }

    await using (var service = await ServiceProcess.StartAsync(root, sink.Port, c, pool: true))
    {
        var runs = new List<IngestionFigures>();
        foreach (var connections in options.IngestConnections)
        {
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
        await load.DeliverAsync(Math.Min(1000, n));
        var naive = await load.DeliverAsync(n);
        report["naiveIntoSink"] = naive;
        report["naiveDrainIntoSink"] = Drain(await load.DrainAsync(n, naive.SubmitPerSecond));
    }
}

if (options.Postfix)
{
    await using var postfix = await BenchPostfix.StartAsync(root);
    Log($"Postfix on 127.0.0.1:{postfix.Port}: smtp-source, then the service");
    report["smtpSourceIntoPostfix"] = await Limits.SmtpSourceAsync(postfix.Port, c, n);
    await using var service = await ServiceProcess.StartAsync(root, postfix.Port, c, pool: true);
    using var load = new ServiceLoad(service);
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

static DrainFigures Drain((double Rate, int Sent, bool InTime) d) => new(d.Rate, d.Sent, d.InTime);

// Other work on a shared machine takes CPU from every figure here; the load average says how much there was.
static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

static string Memory()
{
    var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
    return $"{long.Parse(line[9..].Trim().Split(' ')[0]) / 1024 / 1024} GB";
}

namespace MailApi.Bench
{
    internal sealed record LightLoad(int Messages, double P50Ms, double P99Ms);

    internal sealed record DrainFigures(double MessagesPerSecond, int Sent, bool SubmittedBeforeSendAt);

    internal sealed class BenchOptions
    {
        public int Messages { get; private set; } = 10_000;
        public int Concurrency { get; private set; } = 16;
        public int IngestSeconds { get; private set; } = 10;
        public int[] IngestConnections { get; private set; } = [16, 64];
        public int LatencyMessages { get; private set; } = 200;
        public bool Postfix { get; private set; } = true;
        public string? Output { get; private set; }
        public bool OnlyDelivery { get; private set; }

        public static BenchOptions Parse(string[] args)
        {
            var o = new BenchOptions();
            for (var i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                switch (args[i])
                {
                    case "--messages": o.Messages = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--concurrency": o.Concurrency = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--ingest-seconds": o.IngestSeconds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--latency-messages": o.LatencyMessages = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--no-postfix": o.Postfix = false; break;
                    case "--only-delivery": o.OnlyDelivery = true; break; // the limits and the reuse-on run into smtp-sink, for profiling

                    case "--out": o.Output = Next(); break;
                    case "--smoke":
                        // A few seconds, for CI: proves the benchmark still runs; its figures mean nothing.
                        o.Messages = 300; o.IngestSeconds = 1; o.IngestConnections = [16]; o.LatencyMessages = 10; o.Postfix = false;
                        o.Output ??= Path.Combine(Path.GetTempPath(), "mailapi-bench-smoke.json");
                        break;
                    default: throw new ArgumentException($"Unknown option {args[i]}");
                }
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
            sb.AppendLine();
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
            var naive = (DeliveryFigures)r["naiveIntoSink"]!;
            var naiveDrain = (DrainFigures)r["naiveDrainIntoSink"]!;
            sb.AppendLine($"| delivery into smtp-sink, reuse off (naive), queue drain | {naiveDrain.MessagesPerSecond:N0} msg/s{Late(naiveDrain)} | reuse on: {drain.MessagesPerSecond:N0} msg/s | reuse is {drain.MessagesPerSecond / naiveDrain.MessagesPerSecond:F1}× faster |");
            sb.AppendLine($"| delivery into smtp-sink, reuse off (naive), end to end | {naive.MessagesPerSecond:N0} msg/s | reuse on: {d.MessagesPerSecond:N0} msg/s | {d.MessagesPerSecond / naive.MessagesPerSecond:F1}× |");
            sb.AppendLine($"| relay connections that carried the {o.Messages:N0} end-to-end messages | reuse on: {d.Connections:N0}, off: {naive.Connections:N0} | | |");
            if (r.TryGetValue("deliveryIntoPostfix", out var p) && p is DeliveryFigures pf)
            {
                var source = (double)r["smtpSourceIntoPostfix"]!;
                var pd = (DrainFigures)r["drainIntoPostfix"]!;
                sb.AppendLine($"| delivery into real Postfix (disk queue), reuse on, queue drain | {pd.MessagesPerSecond:N0} msg/s{Late(pd)} | smtp-source ×{c} into it: {source:N0} msg/s | {pd.MessagesPerSecond / source:P0} |");
                sb.AppendLine($"| delivery into real Postfix, reuse on, end to end | {pf.MessagesPerSecond:N0} msg/s | smtp-source ×{c} into it: {source:N0} msg/s | {pf.MessagesPerSecond / source:P0} |");
            }
            foreach (var w in (List<IngestionFigures>)r["ingestion"]!)
            {
                sb.AppendLine($"| ingestion POST /v1/messages, wrk {w.Connections} connections, {w.Seconds:F0} s, deliveries running | {w.RequestsPerSecond:N0} req/s, p50 {w.P50Ms:F1} ms, p99 {w.P99Ms:F1} ms{(w.Non2xx > 0 ? $", {w.Non2xx} non-2xx" : "")} | target ≥ 5,000 req/s at p99 < 50 ms | {w.RequestsPerSecond / 5000:P0} of target; meanwhile {w.DeliveredPerSecond:N0} msg/s delivered |");
            }
            var light = (LightLoad)r["acceptToSentLightLoad"]!;
            sb.AppendLine($"| accept-to-sent at light load ({light.Messages} one at a time, in-memory) | p50 {light.P50Ms:F1} ms, p99 {light.P99Ms:F1} ms | target p50 < 25 ms | |");
            sb.AppendLine($"| accept-to-sent during the {o.Messages:N0} run (queueing included) | p50 {d.AcceptToSentP50Ms:N0} ms, p99 {d.AcceptToSentP99Ms:N0} ms | | |");
            sb.AppendLine($"| service memory (RSS) over the {o.Messages:N0} run | before {Mb(d.RssBeforeBytes)}, peak {Mb(d.PeakRssBytes)}, after {Mb(d.RssAfterBytes)}: {d.GrowthPerMessageBytes / 1024:F1} KB per message kept | in-memory store keeps every message | |");
            sb.AppendLine($"| submission (32 .NET clients) during the delivery run | {d.SubmitPerSecond:N0} req/s | | |");
            return sb.ToString();
        }

        private static string Late(DrainFigures d) => d.SubmittedBeforeSendAt ? "" : " (some submitted after sendAt)";

        private static string Mb(long bytes) => $"{bytes / 1024.0 / 1024.0:F0} MB";
    }
}
