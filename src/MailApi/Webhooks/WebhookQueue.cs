using Hangfire;
using Hangfire.States;
using MailApi.Storage;
using MailApi.Webhooks.Events;

namespace MailApi.Webhooks;

/// <summary>Webhook work in Hangfire, beside the delivery jobs and as durable: each job carries an id only.</summary>
public interface IWebhookQueue
{
    /// <summary>Turn the events of a message into deliveries.</summary>
    void Dispatch(Guid messageId);

    /// <summary>Try a delivery as soon as a worker is free.</summary>
    void Enqueue(Guid deliveryId);

    /// <summary>Try a delivery at <paramref name="at"/> (a retry).</summary>
    void Schedule(Guid deliveryId, DateTimeOffset at);
}

public sealed class HangfireWebhookQueue(IBackgroundJobClient jobs) : IWebhookQueue
{
    public void Dispatch(Guid messageId) =>
        jobs.Create<WebhookDispatcher>(d => d.DispatchAsync(messageId, CancellationToken.None), new EnqueuedState());

    public void Enqueue(Guid deliveryId) =>
        jobs.Create<WebhookDeliveryJob>(job => job.RunAsync(deliveryId, CancellationToken.None), new EnqueuedState());

    /// <remarks>Hangfire keeps schedules in whole seconds, truncated: rounding up keeps a try from running before its time.</remarks>
    public void Schedule(Guid deliveryId, DateTimeOffset at)
    {
        var ticks = at.UtcTicks % TimeSpan.TicksPerSecond == 0 ? at.UtcTicks : at.UtcTicks - at.UtcTicks % TimeSpan.TicksPerSecond + TimeSpan.TicksPerSecond;
        jobs.Create<WebhookDeliveryJob>(job => job.RunAsync(deliveryId, CancellationToken.None),
            new ScheduledState(new DateTime(ticks, DateTimeKind.Utc)));
    }
}

/// <summary>
/// The events outbox: a message written with a new event gets a dispatch job. The event itself is already stored with
/// the message; a dispatch lost to a crash right here is the one gap (README, "Events and webhooks").
/// </summary>
public sealed class HangfireEventOutbox(IWebhookQueue queue, WebhookOwners owners, ILogger<HangfireEventOutbox> logger) : IEventOutbox
{
    public void Recorded(StoredMessage message)
    {
        if (!owners.MayHaveEndpoints(message.Owner))
        {
            return;
        }
        try
        {
            queue.Dispatch(message.Id);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Event {Sequence} of message {MessageId} is stored but its webhook dispatch could not be queued",
                message.Events[^1].Sequence, message.Id);
        }
    }
}
