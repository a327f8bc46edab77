using MailApi.Delivery;
using MailApi.Storage;
using Microsoft.Extensions.Options;

namespace MailApi.Housekeeping;

/// <summary>
/// Keeps this instance's heartbeat in the store, and re-queues messages whose job may be lost: held in
/// <c>sending</c> by an instance that stopped, or by this one with no job holding it (the job ended in a storage outage),
/// or waiting well past their time (a crash, or an outage, between storing and queueing) — past the messages that jobs
/// have already taken (<see cref="QueueProgress"/>), so a long queue is not queued a second time.
/// A duplicate job is harmless: the job takes a message only by compare-and-set.
/// </summary>
public sealed class OrphanSweeper(
    IMessageStore store,
    IDeliveryQueue queue,
    WorkerIdentity worker,
    InFlightMessages inFlight,
    QueueProgress progress,
    IOptionsMonitor<DeliveryOptions> options,
    TimeProvider clock,
    ILogger<OrphanSweeper> logger) : BackgroundService
{
    /// <summary>At most this many messages are re-queued per sweep; the rest wait for the next one.</summary>
    private const int MaxPerSweep = 1000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lastSweep = DateTimeOffset.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            var delivery = options.CurrentValue;
            try
            {
                var now = clock.GetUtcNow();
                await store.HeartbeatAsync(worker.Id, now, stoppingToken);
                if (now - lastSweep >= delivery.SweepInterval)
                {
                    lastSweep = now;
                    await SweepAsync(now, delivery, stoppingToken);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "Heartbeat or orphan sweep failed; trying again");
            }
            try
            {
                await Task.Delay(delivery.HeartbeatInterval, clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task SweepAsync(DateTimeOffset now, DeliveryOptions delivery, CancellationToken cancellationToken)
    {
        var held = inFlight.Snapshot();
        var lostIfDueBefore = progress.LostIfDueBefore(now, delivery.SweepInterval, jobsRunning: held.Count > 0);
        var orphans = await store.FindOrphansAsync(now - delivery.InstanceTimeout, lostIfDueBefore, worker.Id, held, MaxPerSweep, cancellationToken);
        if (orphans.Count > 0)
        {
            // In shared jobs, as requests are: after a crash the sweep may find a thousand.
            await queue.EnqueueAsync(orphans);
            logger.LogWarning("Re-queued {Count} message(s) whose delivery job may have been lost: {MessageIds}",
                orphans.Count, string.Join(", ", orphans.Take(10)) + (orphans.Count > 10 ? ", …" : ""));
        }
        logger.LogDebug("Orphan sweep done: {Count} re-queued (waiting messages due before {LostIfDueBefore:O}; {Held} held by this instance's jobs)",
            orphans.Count, lostIfDueBefore, held.Count);
    }
}
