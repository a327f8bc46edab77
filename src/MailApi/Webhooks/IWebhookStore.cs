namespace MailApi.Webhooks;

/// <summary>
/// Webhook endpoints and their deliveries, in memory or in PostgreSQL beside the messages (deliveries are durable like
/// messages). Updates are compare-and-set on <c>Version</c>, as for messages.
/// </summary>
public interface IWebhookStore
{
    Task AddEndpointAsync(StoredEndpoint endpoint, CancellationToken cancellationToken);

    Task<StoredEndpoint?> FindEndpointAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>One owner's endpoints, oldest first.</summary>
    Task<IReadOnlyList<StoredEndpoint>> ListEndpointsAsync(string owner, CancellationToken cancellationToken);

    /// <summary>The API keys that have at least one endpoint.</summary>
    Task<IReadOnlySet<string>> OwnersAsync(CancellationToken cancellationToken);

    /// <summary>Writes <paramref name="updated"/> if the stored version is still its <c>Version</c>; the stored copy or null.</summary>
    Task<StoredEndpoint?> TryUpdateEndpointAsync(StoredEndpoint updated, CancellationToken cancellationToken);

    /// <summary>Deletes the endpoint and its deliveries; false when there was none.</summary>
    Task<bool> DeleteEndpointAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>
    /// Stores the deliveries that are new: one per (endpoint, event), so dispatching an event twice creates nothing twice.
    /// Returns those stored now.
    /// </summary>
    Task<IReadOnlyList<StoredDelivery>> AddDeliveriesAsync(IReadOnlyList<StoredDelivery> deliveries, CancellationToken cancellationToken);

    Task<StoredDelivery?> FindDeliveryAsync(Guid id, CancellationToken cancellationToken);

    Task<StoredDelivery?> TryUpdateDeliveryAsync(StoredDelivery updated, CancellationToken cancellationToken);

    /// <summary>One endpoint's deliveries, newest first, older than <paramref name="before"/> when given.</summary>
    Task<IReadOnlyList<StoredDelivery>> ListDeliveriesAsync(Guid endpointId, WebhookDeliveryStatus? status, Guid? before, int limit,
        CancellationToken cancellationToken);

    /// <summary>The deliveries of one message's events, to every endpoint, oldest first; at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<StoredDelivery>> ListMessageDeliveriesAsync(Guid messageId, int limit, CancellationToken cancellationToken);

    /// <summary>Pending deliveries due before <paramref name="dueBefore"/>: those whose job may be lost.</summary>
    Task<IReadOnlyList<Guid>> FindDueDeliveriesAsync(DateTimeOffset dueBefore, int limit, CancellationToken cancellationToken);

    /// <summary>How many deliveries are pending (waiting for a try or in one), for the queue-depth gauge.</summary>
    Task<long> CountPendingDeliveriesAsync(CancellationToken cancellationToken);

    /// <summary>Records that the events of the message up to <paramref name="sequence"/> were turned into deliveries.</summary>
    Task MarkDispatchedAsync(Guid messageId, int sequence, CancellationToken cancellationToken);

    /// <summary>
    /// Messages updated between the two times whose owner has endpoints and which carry events beyond those marked
    /// dispatched: their dispatch job was lost.
    /// </summary>
    Task<IReadOnlyList<Guid>> FindUndispatchedAsync(DateTimeOffset updatedAfter, DateTimeOffset updatedBefore, int limit, CancellationToken cancellationToken);

    /// <summary>Deletes the delivered and failed deliveries created before <paramref name="createdBefore"/>; how many went.</summary>
    Task<int> PurgeDeliveriesAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken);
}
