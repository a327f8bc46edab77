using System.Collections.Concurrent;

namespace MailApi.Storage;

/// <summary>The embedded store: fast, and gone when the process stops.</summary>
public sealed class InMemoryMessageStore : IMessageStore
{
    private readonly ConcurrentDictionary<Guid, StoredMessage> _messages = new();
    private readonly Dictionary<(string Owner, string Key), (IdempotencyClaim Claim, Guid[] Ids)> _claims = [];
    private readonly ConcurrentDictionary<string, DateTimeOffset> _heartbeats = new();
    private readonly Lock _gate = new();
    private long _pending;
    private long _pendingBytes;
    private readonly long[] _byStatus = new long[Enum.GetValues<MessageStatus>().Length];

    public Task<AddResult> AddAsync(IReadOnlyList<StoredMessage> messages, IdempotencyClaim? claim, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (claim is not null && _claims.TryGetValue((claim.Owner, claim.Key), out var earlier) && earlier.Claim.ExpiresAt > DateTimeOffset.UtcNow)
            {
                var existing = earlier.Ids.Select(id => _messages.GetValueOrDefault(id)).OfType<StoredMessage>().ToList();
                return Task.FromResult(new AddResult(false, existing, earlier.Claim.RequestHash));
            }
            var stored = new List<StoredMessage>(messages.Count);
            foreach (var message in messages)
            {
                if (_messages.ContainsKey(message.Id))
                {
                    throw new InvalidOperationException("A message with one of these ids exists already.");
                }
                stored.Add(message with { Version = 1 });
            }
            foreach (var message in stored)
            {
                _messages[message.Id] = message;
                _byStatus[(int)message.Status]++;
                if (!message.Status.IsFinal())
                {
                    _pending++;
                    _pendingBytes += message.ContentBytes;
                }
            }
            if (claim is not null)
            {
                _claims[(claim.Owner, claim.Key)] = (claim, stored.Select(m => m.Id).ToArray());
            }
            return Task.FromResult(new AddResult(true, stored, null));
        }
    }

    public Task<StoredMessage?> FindAsync(Guid id, CancellationToken cancellationToken) =>
        Task.FromResult(_messages.GetValueOrDefault(id));

    public Task<IReadOnlyList<StoredMessage>> FindByQueueIdAsync(string queueId, DateTimeOffset sentAfter, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<StoredMessage>>(_messages.Values.Where(m => m.QueueId == queueId && m.SentAt >= sentAfter).ToList());

    public Task<StoredMessage?> TryUpdateAsync(StoredMessage updated, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_messages.TryGetValue(updated.Id, out var current) || current.Version != updated.Version)
            {
                return Task.FromResult<StoredMessage?>(null);
            }
            return Task.FromResult<StoredMessage?>(Replace(current, updated with { Version = updated.Version + 1 }));
        }
    }

    public Task<IReadOnlyList<StoredMessage>> TakeQueuedAsync(IReadOnlyList<Guid> ids, string worker, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var taken = new List<StoredMessage>();
            foreach (var id in ids)
            {
                if (_messages.TryGetValue(id, out var current) && current.Status == MessageStatus.Queued)
                {
                    taken.Add(Replace(current, current.TakenBy(worker, now) with { Version = current.Version + 1 }));
                }
            }
            return Task.FromResult<IReadOnlyList<StoredMessage>>(taken);
        }
    }

    /// <summary>Writes <paramref name="next"/> over <paramref name="current"/> and keeps the counts; under the gate.</summary>
    private StoredMessage Replace(StoredMessage current, StoredMessage next)
    {
        _messages[next.Id] = next;
        _byStatus[(int)current.Status]--;
        _byStatus[(int)next.Status]++;
        var (before, after) = (current.Status.IsFinal() ? 0 : 1, next.Status.IsFinal() ? 0 : 1);
        _pending += after - before;
        _pendingBytes += after * next.ContentBytes - before * current.ContentBytes;
        return next;
    }

    public Task<MessagePage> ListAsync(MessageQuery query, CancellationToken cancellationToken)
    {
        var items = _messages.Values
            .Where(m => m.Owner == query.Owner && Matches(m, query))
            .OrderByDescending(m => m.Id, Comparer<Guid>.Create(MessageOrder.Compare))
            .Take(query.Limit + 1)
            .ToList();
        return Task.FromResult(new MessagePage(items.Take(query.Limit).ToList(), items.Count > query.Limit));
    }

    private static bool Matches(StoredMessage m, MessageQuery q) =>
        (q.Status is null || m.Status == q.Status)
        && (q.Tag is null || m.Content.Tags.Contains(q.Tag))
        && (q.From is null || string.Equals(m.Sender, q.From, StringComparison.OrdinalIgnoreCase))
        && (q.To is null || m.Recipients.Any(r => string.Equals(r.Address, q.To, StringComparison.OrdinalIgnoreCase)))
        && (q.QueueId is null || m.QueueId == q.QueueId)
        && (q.CreatedAfter is null || m.CreatedAt > q.CreatedAfter)
        && (q.CreatedBefore is null || m.CreatedAt < q.CreatedBefore)
        && (q.Before is null || MessageOrder.Compare(m.Id, q.Before.Value) < 0);

    /// <remarks>Written under the lock, read without it: 64-bit reads are atomic, and back-pressure needs no more.</remarks>
    public Task<Backlog> BacklogAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new Backlog(Interlocked.Read(ref _pending), Interlocked.Read(ref _pendingBytes)));

    public Task<IReadOnlyDictionary<MessageStatus, long>> CountPendingAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyDictionary<MessageStatus, long>>(MessageStatuses.Pending.ToDictionary(s => s, s => _byStatus[(int)s]));
        }
    }

    public Task<IReadOnlyList<Guid>> FindOrphansAsync(DateTimeOffset deadBefore, DateTimeOffset dueBefore, string self, IReadOnlyCollection<Guid> inFlight,
        int limit, CancellationToken cancellationToken)
    {
        IReadOnlyList<Guid> orphans = _messages.Values
            .Where(m => m.Status switch
            {
                MessageStatus.Sending when m.Worker == self => !inFlight.Contains(m.Id),
                MessageStatus.Sending => m.Worker is null || _heartbeats.GetValueOrDefault(m.Worker) < deadBefore,
                MessageStatus.Queued => m.UpdatedAt < dueBefore,
                MessageStatus.Deferred => m.NextAttemptAt < dueBefore,
                MessageStatus.Scheduled => m.SendAt < dueBefore,
                _ => false,
            })
            .Select(m => m.Id)
            .Take(limit)
            .ToList();
        return Task.FromResult(orphans);
    }

    public Task HeartbeatAsync(string instance, DateTimeOffset now, CancellationToken cancellationToken)
    {
        _heartbeats[instance] = now;
        return Task.CompletedTask;
    }

    public Task<DateTimeOffset?> LastHeartbeatAsync(string instance, CancellationToken cancellationToken) =>
        Task.FromResult(_heartbeats.TryGetValue(instance, out var at) ? at : (DateTimeOffset?)null);

    public Task<int> PurgeAsync(DateTimeOffset contentBefore, DateTimeOffset deleteBefore, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var changed = 0;
        lock (_gate)
        {
            foreach (var message in _messages.Values.Where(m => m.Status.IsFinal()).ToList())
            {
                if (message.UpdatedAt < deleteBefore)
                {
                    _messages.TryRemove(message.Id, out _);
                    _byStatus[(int)message.Status]--;
                    changed++;
                }
                else if (message.UpdatedAt < contentBefore && !message.ContentPurged)
                {
                    _messages[message.Id] = MessageOrder.WithoutContent(message) with { Version = message.Version + 1 };
                    changed++;
                }
            }
            foreach (var expired in _claims.Where(c => c.Value.Claim.ExpiresAt <= now).Select(c => c.Key).ToList())
            {
                _claims.Remove(expired);
            }
        }
        return Task.FromResult(changed);
    }

    public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => Task.FromResult(true);
}
