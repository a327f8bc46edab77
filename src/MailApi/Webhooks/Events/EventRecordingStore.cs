using MailApi.Storage;

namespace MailApi.Webhooks.Events;

/// <summary>
/// The message store as the service uses it: every add and compare-and-set carries the event its status change stands
/// for inside the message document, so the event is in the very write (one row, one statement) that changes the status.
/// After a write that recorded one, the outbox is told, which hands the event to the webhook endpoints.
/// </summary>
public sealed class EventRecordingStore(IMessageStore inner, IEventOutbox outbox) : IMessageStore
{
    public async Task<AddResult> AddAsync(IReadOnlyList<StoredMessage> messages, IdempotencyClaim? claim, CancellationToken cancellationToken)
    {
        var result = await inner.AddAsync(messages.Select(MessageEvents.WithEvent).ToList(), claim, cancellationToken);
        if (result.Created)
        {
            foreach (var message in result.Messages.Where(m => m.Events.Count > 0))
            {
                outbox.Recorded(message);
            }
        }
        return result;
    }

    public async Task<StoredMessage?> TryUpdateAsync(StoredMessage updated, CancellationToken cancellationToken)
    {
        var withEvent = MessageEvents.WithEvent(updated);
        var saved = await inner.TryUpdateAsync(withEvent, cancellationToken);
        if (saved is not null && withEvent.Events.Count > updated.Events.Count)
        {
            outbox.Recorded(saved);
        }
        return saved;
    }

    /// <remarks>Taking a queued message stands for no event (<see cref="MessageEvents.WithEvent"/>), so nothing is added.</remarks>
    public Task<IReadOnlyList<StoredMessage>> TakeQueuedAsync(IReadOnlyList<Guid> ids, string worker, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.TakeQueuedAsync(ids, worker, now, cancellationToken);

    public Task<StoredMessage?> FindAsync(Guid id, CancellationToken cancellationToken) => inner.FindAsync(id, cancellationToken);

    public Task<IReadOnlyList<StoredMessage>> FindByQueueIdAsync(string queueId, DateTimeOffset sentAfter, CancellationToken cancellationToken) =>
        inner.FindByQueueIdAsync(queueId, sentAfter, cancellationToken);

    public Task<MessagePage> ListAsync(MessageQuery query, CancellationToken cancellationToken) => inner.ListAsync(query, cancellationToken);

    public Task<Backlog> BacklogAsync(CancellationToken cancellationToken) => inner.BacklogAsync(cancellationToken);

    public Task<IReadOnlyDictionary<MessageStatus, long>> CountPendingAsync(CancellationToken cancellationToken) =>
        inner.CountPendingAsync(cancellationToken);

    public Task<IReadOnlyList<Guid>> FindOrphansAsync(DateTimeOffset deadBefore, DateTimeOffset dueBefore, string self, IReadOnlyCollection<Guid> inFlight,
        int limit, CancellationToken cancellationToken) =>
        inner.FindOrphansAsync(deadBefore, dueBefore, self, inFlight, limit, cancellationToken);

    public Task HeartbeatAsync(string instance, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.HeartbeatAsync(instance, now, cancellationToken);

    public Task<DateTimeOffset?> LastHeartbeatAsync(string instance, CancellationToken cancellationToken) =>
        inner.LastHeartbeatAsync(instance, cancellationToken);

    public Task<int> PurgeAsync(DateTimeOffset contentBefore, DateTimeOffset deleteBefore, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.PurgeAsync(contentBefore, deleteBefore, now, cancellationToken);

    public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => inner.IsReadyAsync(cancellationToken);
}

/// <summary>Where recorded events go next: the webhook dispatch.</summary>
public interface IEventOutbox
{
    /// <summary><paramref name="message"/> was just written with a new event (its last). Must not throw: the write is done.</summary>
    void Recorded(StoredMessage message);
}
