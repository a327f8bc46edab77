namespace MailApi.Delivery;

/// <summary>Hands message ids to the delivery workers; the message itself stays in the store.</summary>
public interface IDeliveryQueue
{
    /// <summary>Deliver as soon as a worker is free.</summary>
    void Enqueue(Guid messageId);

    /// <summary>Deliver at <paramref name="at"/> (a retry, or a <c>sendAt</c> time).</summary>
    void Schedule(Guid messageId, DateTimeOffset at);
}
