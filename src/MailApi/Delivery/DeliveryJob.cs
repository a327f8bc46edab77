using Hangfire;
using MailApi.Storage;
using Microsoft.Extensions.Options;

namespace MailApi.Delivery;

/// <summary>
/// The Hangfire job: one attempt to deliver one message, found by id in the store (the source of truth).
/// Safe to run twice: it only starts from a waiting status, and takes the message by compare-and-set.
/// </summary>
public sealed class DeliveryJob(
    IMessageStore store,
    SmtpDelivery smtp,
    IDeliveryQueue queue,
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
        if (message.Status is not (MessageStatus.Queued or MessageStatus.Scheduled or MessageStatus.Deferred))
        {
            logger.LogInformation("Message {MessageId} is {Status}; this run has nothing to do", messageId, message.Status);
            return;
        }

        var startedAt = clock.GetUtcNow();
        var sending = await store.TryUpdateAsync(
            message with { Status = MessageStatus.Sending, UpdatedAt = startedAt, NextAttemptAt = null }, cancellationToken);
        if (sending is null)
        {
            logger.LogInformation("Message {MessageId} was taken by another worker", messageId);
            return;
        }

        var recipients = sending.Recipients
            .Where(r => r.Status is RecipientStatus.Pending or RecipientStatus.Deferred)
            .Select(r => r.Address)
            .ToList();
        // The dialogue is not cut short by shutdown: a half-sent message is worse than a slower stop.
        var attempt = await smtp.SendAsync(sending, recipients, CancellationToken.None);
        var next = DeliveryRules.Apply(sending, attempt, options.CurrentValue, startedAt, clock.GetUtcNow());

        var saved = await store.TryUpdateAsync(next, CancellationToken.None)
            ?? throw new InvalidOperationException($"Message {messageId} changed while it was being sent; the attempt was not recorded.");
        logger.LogInformation("Message {MessageId} attempt {Attempt}: {Status}, queue id {QueueId}",
            messageId, saved.Attempts.Count, saved.Status, saved.QueueId);
        if (saved.Status == MessageStatus.Deferred)
        {
            queue.Schedule(messageId, saved.NextAttemptAt!.Value);
        }
    }
}
