namespace MailApi.Bench;

/// <summary>
/// PostgreSQL mode, beside the in-memory runs: the bench's own cluster (Debian's defaults, fsync on), a fresh database per
/// service; Hangfire.PostgreSql's own ceiling first and last (the drift between the two says how noisy the run was),
/// its variants after the service's runs.
/// </summary>
internal static class PostgresMode
{
    /// <summary>Every PostgreSQL phase <paramref name="options"/> names, into <paramref name="report"/>; <paramref name="warm"/> is the
    /// run's warm-up of a service before it is measured (its slices go into the JSON).</summary>
    public static async Task RunAsync(string root, BenchOptions options, Dictionary<string, object?> report, SmtpSink sink, Action<string> log,
        Func<ServiceLoad, string, SmtpSink?, Task> warm)
    {
        var c = options.Concurrency;
        await using var pg = await BenchPostgres.StartAsync();
        report["postgres"] = $"PostgreSQL {pg.Version}";
        log($"PostgreSQL {pg.Version} on 127.0.0.1:{pg.Port}; Hangfire.PostgreSql's ceiling first ({options.CeilingJobs} empty jobs)");
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
                log($"ceiling round {round} {variant}: {figures.JobsPerSecond:F0} jobs/s end to end, enqueue {figures.EnqueuePerSecond:F0}/s");
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
                log($"service on PostgreSQL pid {service.ProcessId}: idle statements for 5 s");
                await stats.ResetAsync();
                await Task.Delay(TimeSpan.FromSeconds(5));
                report["pgIdlePerSecond"] = await stats.ReadAsync(5, TimeSpan.Zero);
                log($"warm-up, then {pgn} messages end to end");
                await warm(load, "postgres", sink);
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
                    log($"delivered {figures.MessagesPerSecond:F0}/s; {report["pgDeliveryCpu"]}");
                }
                log($"batches: {options.BatchMessages} messages, {BenchOptions.BatchSize} a request");
                await stats.ResetAsync();
                cpu.Reset();
                var batch = await load.DeliverAsync(options.BatchMessages, BenchOptions.BatchSize);
                report["pgBatch"] = batch;
                report["pgBatchCpu"] = cpu.Per(options.BatchMessages);
                report["pgBatchStatements"] = await stats.ReadAsync(options.BatchMessages, TimeSpan.FromSeconds(1.5));
                log($"batches delivered {batch.MessagesPerSecond:F0}/s; {report["pgBatchCpu"]}");
                if (report.GetValueOrDefault("pgDelivery") is DeliveryFigures single)
                {
                    log("queue drain");
                    report["pgDrain"] = DrainFigures.Of(await load.DrainAsync(pgn, single.SubmitPerSecond));
                    log("light-load latency");
                    report["pgAcceptToSentLightLoad"] = await LightLoad.MeasureAsync(load, options.LatencyMessages);
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
                log($"two instances on one database (pids {first.ProcessId}, {second.ProcessId}): warm-up, then {pgn} messages, half through each");
                await Task.WhenAll(warm(one, "postgresPairFirst", sink), warm(two, "postgresPairSecond", sink));
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
            log($"webhooks on PostgreSQL: warm-up, {options.LatencyMessages} one at a time, then {pgn} messages");
            await warm(load, "postgresWebhooks", sink);
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
            log($"webhooks on PostgreSQL: delivered {figures.Delivery.MessagesPerSecond:F0}/s, event to webhook p50 {figures.LoadedP50Ms:F0} ms, p99 {figures.LoadedP99Ms:F0} ms");
        }

        if (options.PgPhase("ingestion"))
        {
            connection = await pg.CreateDatabaseAsync("mailapi");
            await using (var service = await ServiceProcess.StartAsync(root, sink.Port, c, pool: true, postgres: connection))
            await using (var stats = new DatabaseStats(connection))
            using (var load = new ServiceLoad(service, new DatabaseFinalStatus(stats)))
            {
                await warm(load, "postgresIngestion", sink);
                await load.DeliverAsync(Math.Min(200, pgn));
                log("POST latency at one connection (wrk -c1; its own deliveries run meanwhile)");
                report["pgIngestionOneConnection"] = await Wrk.RunAsync(service, 1, TimeSpan.FromSeconds(options.OneConnectionSeconds), sink);
                log($"ingestion on PostgreSQL with wrk, {BenchOptions.PostgresIngestConnections} connections, {options.IngestSeconds} s, deliveries running");
                await stats.ResetAsync();
                var wrk = await Wrk.RunAsync(service, BenchOptions.PostgresIngestConnections, TimeSpan.FromSeconds(options.IngestSeconds), sink);
                report["pgIngestion"] = wrk;
                report["pgIngestionStatements"] = await stats.ReadAsync(wrk.RequestsPerSecond * wrk.Seconds, TimeSpan.Zero);
                var closing = await ClosingRuns.RunAsync(service, load, sink, BenchOptions.FixedRatePostgres, options, " on PostgreSQL", log, stats.ResetAsync);
                report["pgFixedRate"] = closing.FixedRate;
                report["pgIngestionOneConnectionScheduled"] = closing.OneConnection;
                report["pgIngestionScheduled"] = closing.Alone;
                report["pgIngestionScheduledStatements"] = await stats.ReadAsync(closing.Alone.RequestsPerSecond * closing.Alone.Seconds, TimeSpan.Zero);
                report["pgIngestionPeakRssBytes"] = service.PeakRss;
            }
        }

        for (var round = 2; round <= options.CeilingRounds; round++)
        {
            await Round(round);
        }
    }
}
