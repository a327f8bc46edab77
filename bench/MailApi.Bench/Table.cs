using System.Text;

namespace MailApi.Bench;

/// <summary>The table on stdout: in-memory figures beside the limits of the same run, then PostgreSQL mode beside in-memory.</summary>
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
        if (r.GetValueOrDefault("fixedRate") is FixedRateFigures fixedRate)
        {
            sb.AppendLine($"| POST /v1/messages at a fixed {fixedRate.Rate:N0} req/s, open loop, {fixedRate.Seconds:F0} s, deliveries running | {Fixed(fixedRate)} | target p99 < 50 ms | {(fixedRate.P99Ms < 50 ? "met" : "not met")} |");
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
        if (r.GetValueOrDefault("pgFixedRate") is FixedRateFigures pgFixed)
        {
            var memFixed = r.GetValueOrDefault("fixedRate") as FixedRateFigures;
            sb.AppendLine($"| POST at a fixed rate, open loop, {pgFixed.Seconds:F0} s, deliveries running (in memory {memFixed?.Rate ?? BenchOptions.FixedRateInMemory:N0} req/s, PostgreSQL {pgFixed.Rate:N0}) | {(memFixed is null ? "" : Fixed(memFixed))} | {Fixed(pgFixed)} | | p99 < 100 ms at {pgFixed.Rate:N0} req/s: {(pgFixed.P99Ms < 100 ? "met" : "not met")} |");
        }
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

    internal static string Fixed(FixedRateFigures f) =>
        $"{f.AchievedPerSecond:N0} req/s started, p50 {f.P50Ms:F1} ms, p99 {f.P99Ms:F1} ms, max {f.MaxMs:F0} ms{(f.Non2xx + f.Errors > 0 ? $", {f.Non2xx} non-2xx, {f.Errors} errors" : "")}; {f.DeliveredPerSecond:N0} msg/s delivered meanwhile{Gc(f.ThreadPool, f.AchievedPerSecond)}";

    private static string Gc(ThreadPoolFigures? t, double messagesPerSecond) =>
        t is null ? "" : $"; the service allocated {t.AllocatedMBPerSecond * 1024 / messagesPerSecond:F0} KB a message, GC paused it {t.GcPauseMsPerSecond:F1} ms a second, at most {t.GcPauseMaxMsIn100Ms:F0} ms in 100 ms; thread-pool queue max {t.QueueLengthMax:F0}, threads ≤ {t.ThreadsMax:F0}";

    private static string Wrk(IngestionFigures w) =>
        $"{w.RequestsPerSecond:N0} req/s, p50 {w.P50Ms:F1} ms, p99 {w.P99Ms:F1} ms{(w.Non2xx > 0 ? $", {w.Non2xx} non-2xx" : "")}";

    private static string Pool(IngestionFigures w) =>
        w.ThreadPool is { } t ? $"; thread-pool queue mean {t.QueueLengthMean:F1}, max {t.QueueLengthMax:F0}, threads ≤ {t.ThreadsMax:F0}, service CPU {t.CpuCores:F2} cores" : "";

    private static string Late(DrainFigures d) => d.SubmittedBeforeSendAt ? "" : " (some submitted after sendAt)";

    private static string Mb(long bytes) => $"{bytes / 1024.0 / 1024.0:F0} MB";
}
