using System.Collections.Concurrent;

namespace MailApi.Storage;

/// <summary>The embedded store: fast, and gone when the process stops.</summary>
public sealed class InMemoryMessageStore : IMessageStore
{
    private readonly ConcurrentDictionary<Guid, StoredMessage> _messages = new();
    private long _pending;

    public Task AddAsync(StoredMessage message, CancellationToken cancellationToken)
    {
        if (!_messages.TryAdd(message.Id, message with { Version = 1 }))
        {
            throw new InvalidOperationException($"A message with id {message.Id} exists already.");
        }
        if (!message.Status.IsFinal())
        {
            Interlocked.Increment(ref _pending);
        }
        return Task.CompletedTask;
    }

    public Task<StoredMessage?> FindAsync(Guid id, CancellationToken cancellationToken) =>
        Task.FromResult(_messages.GetValueOrDefault(id));

    public Task<StoredMessage?> TryUpdateAsync(StoredMessage updated, CancellationToken cancellationToken)
    {
        if (!_messages.TryGetValue(updated.Id, out var current) || current.Version != updated.Version)
        {
            return Task.FromResult<StoredMessage?>(null);
        }
        var next = updated with { Version = updated.Version + 1 };
        // Reference comparison: the instance read above is replaced only if nobody replaced it meanwhile.
        if (!_messages.TryUpdate(updated.Id, next, current))
        {
            return Task.FromResult<StoredMessage?>(null);
        }
        if (!current.Status.IsFinal() && next.Status.IsFinal())
        {
            Interlocked.Decrement(ref _pending);
        }
        return Task.FromResult<StoredMessage?>(next);
    }

    public Task<long> CountPendingAsync(CancellationToken cancellationToken) =>
        Task.FromResult(Interlocked.Read(ref _pending));

    public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => Task.FromResult(true);
}
