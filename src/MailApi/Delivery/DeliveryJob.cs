using Hangfire;
using MailApi.Storage;
using Microsoft.Extensions.Options;

namespace MailApi.Delivery;

/// <summary>
/// The Hangfire job: one attempt to deliver one message, found by id in the store (the source of truth).
/// Safe to run twice, and on several instances at once: it takes the message by compare-and-set, and a
/// message another live instance is sending is left to it.
/// </summary>
public sealed class DeliveryJob(
    IMessageStore store,
    SmtpDelivery smtp,
    IDeliveryQueue queue,
    WorkerIdentity worker,
    IOptionsMonitor<DeliveryOptions> options,
    TimeProvider clock,
    ILogger<DeliveryJob> logger)
{
    /// <summary>Hangfire's own retries are off: the schedule of <see cref="DeliveryOptions.RetryDelays"/> is the only one.</summary>
    [AutomaticRetry(Attempts = 0)]
    public async Task RunAsync(Guid messageId, CancellationToken cancellationToken)
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
            if (await IsAliveAsync(message.Worker, startedAt, cancellationToken))
            {
                logger.LogInformation("Message {MessageId} is being sent by {Worker}; this run leaves it", messageId, message.Worker);
                return;
            }
            message = Interrupted(message, startedAt);
            logger.LogWarning("Message {MessageId} was left in the dialogue by {Worker}, which stopped; taking it over", messageId, message.Worker);
        }
        else if (message.Status is not (MessageStatus.Queued or MessageStatus.Scheduled or MessageStatus.Deferred))
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

        var sending = await store.TryUpdateAsync(
            message with { Status = MessageStatus.Sending, Worker = worker.Id, UpdatedAt = startedAt, NextAttemptAt = null }, cancellationToken);
        if (sending is null)
        {
            logger.LogInformation("Message {MessageId} was taken (or canceled) by someone else first", messageId);
            return;
        }

        var recipients = sending.Recipients
            .Where(r => r.Status is RecipientStatus.Pending or RecipientStatus.Deferred)
            .Select(r => r.Address)
            .ToList();
        // The dialogue is not cut short by shutdown: a half-sent message is worse than a slower stop.
        var attempt = await smtp.SendAsync(sending, recipients, CancellationToken.None);
        // Recorded before anything else happens, so a rerun never sends an accepted message again.
        var next = DeliveryRules.Apply(sending, attempt, options.CurrentValue, startedAt, clock.GetUtcNow()) with { Worker = null };
        var saved = await store.TryUpdateAsync(next, CancellationToken.None)
            ?? throw new InvalidOperationException($"Message {messageId} changed while it was being sent; the attempt was not recorded.");
        logger.LogInformation("Message {MessageId} attempt {Attempt}: {Status}, queue id {QueueId}",
            messageId, saved.Attempts.Count, saved.Status, saved.QueueId);
        if (saved.Status == MessageStatus.Deferred)
        {
            queue.Schedule(messageId, saved.NextAttemptAt!.Value);
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
    private static StoredMessage Interrupted(StoredMessage message, DateTimeOffset now) => message with
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
                Error = $"Interrupted: the instance {message.Worker} stopped during the dialogue; the relay may or may not have the message.",
                Upstream = message.Upstream ?? "",
                Interrupted = true,
            },
        ],
    };
}
