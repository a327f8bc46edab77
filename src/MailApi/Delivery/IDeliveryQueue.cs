namespace MailApi.Delivery;

/// <summary>Hands message ids to the delivery workers; the message itself stays in the store.</summary>
public interface IDeliveryQueue
{
    /// <summary>Deliver as soon as a worker is free.</summary>
    void Enqueue(Guid messageId);

    /// <summary>
    /// Deliver these messages as soon as a worker is free, one job per <see cref="DeliveryOptions.MessagesPerJob"/> of them:
    /// a batch request costs one or a few jobs instead of one per message, each message still with its own transaction,
    /// replies, status and retries.
    /// </summary>
    void Enqueue(IReadOnlyList<Guid> messageIds);

    /// <summary>Deliver at <paramref name="at"/> (a retry, or a <c>sendAt</c> time).</summary>
    void Schedule(Guid messageId, DateTimeOffset at);

    /// <summary>
    /// Deliver these messages at <paramref name="at"/> (the messages of a batch that share one <c>sendAt</c>), one job per
    /// <see cref="DeliveryOptions.MessagesPerJob"/> of them, as <see cref="Enqueue(IReadOnlyList{Guid})"/> does for due ones.
    /// </summary>
    void Schedule(IReadOnlyList<Guid> messageIds, DateTimeOffset at);
}
