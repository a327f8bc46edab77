namespace MailApi.Delivery;

/// <summary>Hands message ids to the delivery workers; the message itself stays in the store.</summary>
public interface IDeliveryQueue
{
    /// <summary>Deliver at <paramref name="at"/> (a retry, or an early job's message), in a job of its own.</summary>
    void Schedule(Guid messageId, DateTimeOffset at);

    /// <summary>
    /// A request's due messages (or those the orphan sweep queues again): delivered as soon as a worker is free, in jobs of up to
    /// <see cref="DeliveryOptions.MessagesPerJob"/> messages shared with the requests that come at the same moment, so
    /// that under load a job carries several requests and at light load none waits; while a delivery job runs and will
    /// take them soon, handed to the running delivery jobs instead (<see cref="BusyWorkers"/>). Each message still has its own transaction, replies,
    /// status and retries. Ends when the jobs exist or the running jobs have the messages (a request's 202 waits for it).
    /// </summary>
    Task EnqueueAsync(IReadOnlyList<Guid> messageIds);

    /// <summary>
    /// A request's messages that share one <c>sendAt</c>: delivered at <paramref name="at"/>, in jobs shared as
    /// <see cref="EnqueueAsync"/> shares them with the requests for the same second.
    /// </summary>
    Task ScheduleAsync(IReadOnlyList<Guid> messageIds, DateTimeOffset at);
}
