using Hangfire;
using Hangfire.States;
using MailApi.Delivery;
using MailApi.Storage;
using MailApi.Webhooks.Events;

namespace MailApi.Webhooks;

/// <summary>Webhook work in Hangfire, beside the delivery jobs and as durable: each job carries ids only.</summary>
public interface IWebhookQueue
{
    /// <summary>
    /// Turn the events of these messages into deliveries, in jobs shared with the dispatches asked for at the same moment
    /// (a group commit, as for delivery jobs). Ends when the jobs exist.
    /// </summary>
    Task DispatchAsync(IReadOnlyList<Guid> messageIds);

    /// <summary>Try a delivery as soon as a worker is free.</summary>
    void Enqueue(Guid deliveryId);

    /// <summary>Try a delivery at <paramref name="at"/> (a retry).</summary>
    void Schedule(Guid deliveryId, DateTimeOffset at);
}

public sealed class HangfireWebhookQueue(IBackgroundJobClient jobs) : IWebhookQueue
{
    /// <summary>
    /// How many messages one dispatch job takes at most. Their first tries run side by side in the job
    /// (<see cref="WebhookDispatcher.DispatchManyAsync"/>), so this is also how many requests one job may have open at once.
    /// </summary>
    public const int MessagesPerDispatch = 10;

    private readonly GroupCommit _dispatches = new((ids, _) =>
    {
        foreach (var chunk in ids.Distinct().Chunk(MessagesPerDispatch))
        {
            if (chunk.Length == 1)
            {
                var id = chunk[0];
                jobs.Create<WebhookDispatcher>(d => d.DispatchAsync(id, CancellationToken.None), new EnqueuedState());
            }
            else
            {
                jobs.Create<WebhookDispatcher>(d => d.DispatchManyAsync(chunk, CancellationToken.None), new EnqueuedState());
            }
        }
    });

    public Task DispatchAsync(IReadOnlyList<Guid> messageIds) => _dispatches.AddAsync(messageIds, null);

    public void Enqueue(Guid deliveryId) =>
        jobs.Create<WebhookDeliveryJob>(job => job.RunAsync(deliveryId, CancellationToken.None), new EnqueuedState());

    public void Schedule(Guid deliveryId, DateTimeOffset at) =>
        jobs.Create<WebhookDeliveryJob>(job => job.RunAsync(deliveryId, CancellationToken.None), new ScheduledState(HangfireSchedule.RoundUpToSecond(at)));
}

/// <summary>
/// The events outbox: a message written with a new event gets a dispatch job. The event itself is already stored with
/// the message; a dispatch lost to a crash right here is the one gap (docs/webhooks.md, "How deliveries run").
/// </summary>
public sealed class HangfireEventOutbox(IWebhookQueue queue, WebhookOwners owners, ILogger<HangfireEventOutbox> logger) : IEventOutbox
{
    public void Recorded(StoredMessage message)
    {
        if (!owners.MayHaveEndpoints(message.Owner))
        {
            return;
        }
        // Not waited for: the write is done, and the dispatch job is created with those of the same moment. One that
        // cannot be created (or is lost to a crash before it is) leaves the event undispatched, for the webhook sweep.
        var sequence = message.Events[^1].Sequence;
        queue.DispatchAsync([message.Id]).ContinueWith(
            t => logger.LogError(t.Exception, "Event {Sequence} of message {MessageId} is stored but its webhook dispatch could not be queued; the webhook sweep queues it",
                sequence, message.Id),
            CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
    }
}
