using Hangfire;
using MailApi.Delivery.Rules;
using MailApi.Delivery.Smtp;
using MailApi.Storage;
using MailApi.Suppressions;
using MailApi.Telemetry;
using Microsoft.Extensions.Options;

namespace MailApi.Delivery;

/// <summary>
/// The Hangfire job: one attempt to deliver one message, found by id in the store (the source of truth).
/// Safe to run twice, and on several instances at once: it takes the message by compare-and-set, and a
/// message another live instance is sending is left to it; one this instance holds without a job is taken over.
/// </summary>
public sealed partial class DeliveryJob(
    IMessageStore store,
    SmtpDelivery smtp,
    IDeliveryQueue queue,
    WorkerIdentity worker,
    InFlightMessages inFlight,
    BusyWorkers busyWorkers,
    QueueProgress progress,
    SuppressionCheck suppressions,
    SuppressionList suppressionList,
    MailApiMetrics metrics,
    IOptionsMonitor<DeliveryOptions> options,
    TimeProvider clock,
    ILogger<DeliveryJob> logger)
{
    /// <summary>How long recording an outcome waits between tries while the store is unreachable, at most.</summary>
    private static readonly TimeSpan MaxRecordBackoff = TimeSpan.FromSeconds(5);

    /// <summary>
    /// One message: taken in one write when it is queued (the common case), else found and judged by its status. Hangfire's
    /// own retries are off: the schedule of <see cref="DeliveryOptions.RetryDelays"/> is the only one.
    /// </summary>
    [AutomaticRetry(Attempts = 0)]
    public Task RunAsync(Guid messageId, CancellationToken cancellationToken) => HoldingAWorkerAsync(async () =>
    {
        var taken = await TakeQueuedAsync([messageId], cancellationToken);
        await (taken.Remove(messageId, out var message) ? SendTakenAsync(message, cancellationToken) : RunOneAsync(messageId, cancellationToken));
    }, cancellationToken);

    /// <summary>
    /// A message this job took: its dialogue, then it is no longer held. <c>dialoguesOver</c>, when given, is set once no
    /// more dialogues follow for this message, before its last outcome is written (see <see cref="RunManyAsync"/>).
    /// </summary>
    private async Task SendTakenAsync(StoredMessage message, CancellationToken cancellationToken, TaskCompletionSource? dialoguesOver = null)
    {
        try
        {
            using var trace = MailApiTracing.Deliver(logger, message.Id);
            await SendAsync(message, clock.GetUtcNow(), cancellationToken, dialoguesOver);
        }
        finally
        {
            inFlight.Exit(message.Id);
        }
    }

    /// <summary>A message that was not queued (a due retry or <c>sendAt</c>, one left sending, one already final or gone).</summary>
    private async Task RunOneAsync(Guid messageId, CancellationToken cancellationToken, TaskCompletionSource? dialoguesOver = null)
    {
        if (!inFlight.TryEnter(messageId))
        {
            logger.LogInformation("Message {MessageId} is being delivered by another job of this instance; this run leaves it", messageId);
            return;
        }
        try
        {
            using var trace = MailApiTracing.Deliver(logger, messageId);
            await DeliverAsync(messageId, cancellationToken, dialoguesOver);
        }
        finally
        {
            inFlight.Exit(messageId);
        }
    }

    private async Task DeliverAsync(Guid messageId, CancellationToken cancellationToken, TaskCompletionSource? dialoguesOver)
    {
        var message = await store.FindAsync(messageId, cancellationToken);
        if (message is null)
        {
            logger.LogWarning("Message {MessageId} is not in the store; nothing to deliver", messageId);
            return;
        }
        var startedAt = clock.GetUtcNow();
        if (message.Status == MessageStatus.Sending)
        {
            string reason;
            if (message.Worker == worker.Id)
            {
                // This instance holds it, yet no job of ours does (we just took it in InFlightMessages): the job that
                // held it ended before recording what the relay said.
                reason = "the delivery job on this instance ended during the dialogue before it could record the outcome (a storage outage?)";
            }
            else if (await IsAliveAsync(message.Worker, startedAt, cancellationToken))
            {
                logger.LogInformation("Message {MessageId} is being sent by {Worker}; this run leaves it", messageId, message.Worker);
                return;
            }
            else
            {
                reason = $"the instance {message.Worker} stopped during the dialogue";
            }
            logger.LogWarning("Message {MessageId} was left in the dialogue by {Worker}; taking it over", messageId, message.Worker);
            message = Interrupted(message, startedAt, reason);
        }
        else if (!message.Status.IsWaiting())
        {
            logger.LogInformation("Message {MessageId} is {Status}; this run has nothing to do", messageId, message.Status);
            return;
        }
        else if (DueAt(message) is { } due && due > startedAt)
        {
            // Early (a duplicate job from the orphan sweep, or a clock step): come back at the message's own time.
            queue.Schedule(messageId, due);
            return;
        }

        var sending = await store.TryUpdateAsync(message.TakenBy(worker.Id, startedAt), cancellationToken);
        if (sending is null)
        {
            logger.LogInformation("Message {MessageId} was taken (or canceled) by someone else first", messageId);
            return;
        }
        if (message.Status != MessageStatus.Sending)
        {
            progress.Took(DueAt(message) ?? message.UpdatedAt);
        }
        await SendAsync(sending, startedAt, cancellationToken, dialoguesOver);
    }

    /// <summary>The dialogue of a message this worker has taken (<c>sending</c> here), then its outcome recorded.</summary>
    private async Task SendAsync(StoredMessage sending, DateTimeOffset startedAt, CancellationToken cancellationToken, TaskCompletionSource? dialoguesOver)
    {
        var messageId = sending.Id;
        // Recipients suppressed since the message was submitted are not offered now; with none left it is final at once.
        var saved = await suppressions.ApplyBeforeSendingAsync(sending, cancellationToken);
        if (saved.Status.IsFinal())
        {
            dialoguesOver?.TrySetResult();
            saved = await RecordAsync(saved with { Worker = null }, cancellationToken);
            metrics.Finished(saved);
            logger.LogInformation("Message {MessageId}: {Status}, every recipient left to offer is suppressed", messageId, saved.Status);
            return;
        }
        string? relay = null;
        do
        {
            var recipients = saved.Recipients
                .Where(r => r.Status is RecipientStatus.Pending or RecipientStatus.Deferred)
                .Select(r => r.Address)
                .ToList();
            // The dialogue is not cut short by shutdown: a half-sent message is worse than a slower stop.
            var attempts = await smtp.SendAsync(saved, recipients, CancellationToken.None, relay);
            // Recorded before anything else happens, so a rerun never sends an accepted message again.
            var next = DeliveryRules.Apply(saved, attempts, options.CurrentValue, startedAt, clock.GetUtcNow());
            if (next.Status != MessageStatus.Sending)
            {
                dialoguesOver?.TrySetResult();
            }
            saved = await RecordAsync(next.Status == MessageStatus.Sending ? next : next with { Worker = null }, cancellationToken);
            metrics.Attempted(attempts, saved);
            await suppressionList.RecordRejectionsAsync(saved, attempts[^1], cancellationToken);
            logger.LogInformation("Message {MessageId} attempt {Attempt}: {Status}, queue id {QueueId}",
                messageId, saved.Attempts.Count, saved.Status, saved.QueueId);
            // Still sending: the relay took some recipients and said 452 to the rest, which go in another transaction
            // at once, to the same relay first (and, the pool giving out the last connection returned, on the same connection).
            relay = attempts[^1].Upstream;
            startedAt = clock.GetUtcNow();
        }
        while (saved.Status == MessageStatus.Sending);
        if (saved.Status == MessageStatus.Deferred)
        {
            try
            {
                queue.Schedule(messageId, saved.NextAttemptAt!.Value);
            }
            catch (Exception ex) when (StorageOutage.Is(ex))
            {
                logger.LogWarning("Message {MessageId} is deferred but its retry could not be scheduled ({Error}); the orphan sweep queues it when due",
                    messageId, ex.Message);
            }
        }
    }

    /// <summary>
    /// Writes the attempt's outcome, trying again for as long as the store is unreachable: what the relay said is the one
    /// thing that must never be lost. Only shutdown ends the wait; the message then stays <c>sending</c> on a stopped
    /// instance, and whoever takes it over records the attempt as interrupted.
    /// </summary>
    private async Task<StoredMessage> RecordAsync(StoredMessage next, CancellationToken cancellationToken)
    {
        var backoff = TimeSpan.FromMilliseconds(200);
        var uncertain = false;
        for (var tries = 1; ; tries++)
        {
            try
            {
                if (await store.TryUpdateAsync(next, CancellationToken.None) is { } saved)
                {
                    return saved;
                }
                // A try that failed in the outage may have committed before the connection broke: then the stored copy is ours.
                if (uncertain && await store.FindAsync(next.Id, CancellationToken.None) is { } stored
                    && stored.Version == next.Version + 1 && stored.Attempts.Count == next.Attempts.Count && stored.Status == next.Status)
                {
                    return stored;
                }
                throw new InvalidOperationException($"Message {next.Id} changed while it was being sent; the attempt was not recorded.");
            }
            catch (Exception ex) when (StorageOutage.Is(ex) && !cancellationToken.IsCancellationRequested)
            {
                uncertain = true;
                logger.LogWarning("Recording attempt {Attempt} of message {MessageId} failed (try {Try}: {Error}); trying again while the store is unreachable",
                    next.Attempts.Count, next.Id, tries, ex.Message);
                await Task.Delay(backoff, clock, cancellationToken);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxRecordBackoff.Ticks));
            }
        }
    }

    private static DateTimeOffset? DueAt(StoredMessage message) => message.Status switch
    {
        MessageStatus.Scheduled => message.SendAt,
        MessageStatus.Deferred => message.NextAttemptAt,
        _ => null,
    };

    private async Task<bool> IsAliveAsync(string? instance, DateTimeOffset now, CancellationToken cancellationToken) =>
        instance is not null
        && await store.LastHeartbeatAsync(instance, cancellationToken) is { } beat
        && now - beat < options.CurrentValue.InstanceTimeout;

    /// <summary>
    /// The worker that held the message stopped mid-dialogue. Whether the relay took the message is unknown:
    /// the attempt is recorded as interrupted, so a later successful send is flagged <c>possibleDuplicate</c>.
    /// </summary>
    private static StoredMessage Interrupted(StoredMessage message, DateTimeOffset now, string reason) => message with
    {
        Attempts =
        [
            .. message.Attempts,
            new DeliveryAttempt
            {
                Number = message.Attempts.Count + 1,
                StartedAt = message.UpdatedAt,
                FinishedAt = now,
                Outcome = MessageStatus.Deferred,
                Error = $"Interrupted: {reason}; the relay may or may not have the message.",
                Upstream = message.Upstream ?? "",
                Interrupted = true,
            },
        ],
    };
}
