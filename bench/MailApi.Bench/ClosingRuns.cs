namespace MailApi.Bench;

/// <summary>
/// The runs that close each mode's ingestion part, in this order: POSTs at a fixed rate with deliveries running, then the
/// POST path alone (<c>sendAt</c> an hour ahead: no delivery) at one connection and at 32. The POST-path runs come last:
/// their messages stay pending and count toward <c>Limits:MaxPendingMessages</c>, which a fast in-memory service would
/// otherwise reach in the runs after them.
/// </summary>
internal static class ClosingRuns
{
    public sealed record Figures(FixedRateFigures FixedRate, IngestionFigures OneConnection, IngestionFigures Alone);

    /// <summary>The three runs, each after the queue is empty; <paramref name="rate"/> is the fixed run's POSTs a second.</summary>
    /// <param name="service">The service under load.</param>
    /// <param name="load">Tells when nothing is queued.</param>
    /// <param name="sink">The relay the deliveries go to.</param>
    /// <param name="rate">POSTs a second in the fixed-rate run.</param>
    /// <param name="options">The bench's durations.</param>
    /// <param name="on">Where, for the log: "" in memory, " on PostgreSQL".</param>
    /// <param name="log">The bench's log.</param>
    /// <param name="beforeAlone">Runs just before the POST path alone at 32 connections (PostgreSQL resets its statement counts).</param>
    public static async Task<Figures> RunAsync(ServiceProcess service, ServiceLoad load, SmtpSink sink, int rate, BenchOptions options,
        string on, Action<string> log, Func<Task>? beforeAlone = null)
    {
        await load.WaitUntilNothingQueuedAsync(TimeSpan.FromMinutes(5));
        log($"POSTs{on} at a fixed {rate} a second, open loop, {options.IngestSeconds} s, deliveries running");
        var fixedRate = await FixedRate.RunAsync(service, rate, TimeSpan.FromSeconds(options.IngestSeconds), sink);
        await load.WaitUntilNothingQueuedAsync(TimeSpan.FromMinutes(5));
        var connections = BenchOptions.PostgresIngestConnections;
        log($"the POST path alone{on} (sendAt in an hour: no delivery), wrk at one connection, then at {connections}");
        var seconds = TimeSpan.FromSeconds(options.OneConnectionSeconds);
        var one = await Wrk.RunAsync(service, 1, seconds, sink, scheduled: true);
        if (beforeAlone is not null)
        {
            await beforeAlone();
        }
        var alone = await Wrk.RunAsync(service, connections, seconds, sink, scheduled: true);
        return new Figures(fixedRate, one, alone);
    }
}
