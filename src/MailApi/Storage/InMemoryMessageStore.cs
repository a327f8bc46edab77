using System.Collections.Concurrent;

namespace MailApi.Storage;

/// <summary>
/// The embedded store: fast, and gone when the process stops. Bounded by <paramref name="maxMessages"/> (see
/// <see cref="InMemoryStoreOptions.MaxMessages"/> and InMemoryMessageStore.Bound.cs); a final message is held compressed
/// (<see cref="HeldMessage"/>). Writes take one lock; reads take none.
/// </summary>
public sealed partial class InMemoryMessageStore(int maxMessages = InMemoryStoreOptions.DefaultMaxMessages) : IMessageStore
{
    private readonly ConcurrentDictionary<Guid, HeldMessage> _messages = new();
    private readonly Dictionary<(string Owner, string Key), (IdempotencyClaim Claim, Guid[] Ids)> _claims = [];
    private readonly ConcurrentDictionary<string, DateTimeOffset> _heartbeats = new();
    private readonly Lock _gate = new();
    private long _pending;
    private long _pendingBytes;
    private readonly long[] _byStatus = new long[Enum.GetValues<MessageStatus>().Length];

    public Task<AddResult> AddAsync(IReadOnlyList<StoredMessage> messages, IdempotencyClaim? claim, CancellationToken cancellationToken)
    {
        var stored = messages.Select(m => m with { Version = 1 }).ToList();
        // Made before the lock, so writers do not wait on each other's compression (a message stored final: every
        // recipient suppressed); wasted only on a replay.
        var held = stored.Select(HeldMessage.Of).ToList();
        lock (_gate)
        {
            if (claim is not null && _claims.TryGetValue((claim.Owner, claim.Key), out var earlier))
            {
                if (earlier.Claim.ExpiresAt > DateTimeOffset.UtcNow)
                {
                    return Task.FromResult(new AddResult(false, earlier.Ids.Select(Claimed).OfType<StoredMessage>().ToList(), earlier.Claim.RequestHash));
                }
                Unclaim(earlier.Ids);
            }
            if (stored.Any(m => _messages.ContainsKey(m.Id)))
            {
                throw new InvalidOperationException("A message with one of these ids exists already.");
            }
            MakeRoom(held.Count);
            foreach (var entry in held)
            {
                _messages[entry.Id] = entry;
                Count(entry, 1);
                if (entry.Status.IsFinal())
                {
                    Finished(entry.Id);
                }
            }
            if (claim is not null)
            {
                var ids = stored.Select(m => m.Id).ToArray();
                _claims[(claim.Owner, claim.Key)] = (claim, ids);
                Claim(ids, claim.ExpiresAt);
            }
            return Task.FromResult(new AddResult(true, stored, null));
        }
    }

    public Task<StoredMessage?> FindAsync(Guid id, CancellationToken cancellationToken) =>
        Task.FromResult(_messages.TryGetValue(id, out var held) ? held.Message() : null);

    public Task<IReadOnlyList<StoredMessage>> FindByQueueIdAsync(string queueId, DateTimeOffset sentAfter, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<StoredMessage>>(_messages.Values.Where(m => m.QueueId == queueId && m.SentAt >= sentAfter).Select(m => m.Message()).ToList());

    public Task<StoredMessage?> TryUpdateAsync(StoredMessage updated, CancellationToken cancellationToken)
    {
        var next = updated with { Version = updated.Version + 1 };
        // Made before the lock, as in AddAsync; wasted only when the compare-and-set fails.
        var held = HeldMessage.Of(next);
        lock (_gate)
        {
            if (!_messages.TryGetValue(updated.Id, out var current) || current.Version != updated.Version)
            {
                return Task.FromResult<StoredMessage?>(null);
            }
            Replace(current, held, next);
            return Task.FromResult<StoredMessage?>(next);
        }
    }

    public Task<IReadOnlyList<StoredMessage>> TakeQueuedAsync(IReadOnlyList<Guid> ids, string worker, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var taken = new List<StoredMessage>();
            foreach (var id in ids)
            {
                if (_messages.TryGetValue(id, out var current) && current.Live is { Status: MessageStatus.Queued } queued)
                {
                    var next = queued.TakenBy(worker, now) with { Version = queued.Version + 1 };
                    Replace(current, HeldMessage.Of(next), next);
                    taken.Add(next);
                }
            }
            return Task.FromResult<IReadOnlyList<StoredMessage>>(taken);
        }
    }

    /// <summary>Writes <paramref name="held"/> (holding <paramref name="next"/>) over <paramref name="current"/> and keeps the counts; under the gate.</summary>
    private void Replace(HeldMessage current, HeldMessage held, StoredMessage next)
    {
        _messages[next.Id] = held;
        Count(current, -1);
        Count(held, 1);
        if (!current.Status.IsFinal() && next.Status.IsFinal())
        {
            Finished(next.Id);
        }
    }

    /// <summary>Counts <paramref name="held"/> in (<paramref name="sign"/> 1) or out (-1) of the counts by status and the backlog; under the gate.</summary>
    private void Count(HeldMessage held, int sign)
    {
        _byStatus[(int)held.Status] += sign;
        if (held.Live is { } live)
        {
            _pending += sign;
            _pendingBytes += sign * live.ContentBytes;
        }
    }

    public Task<MessagePage> ListAsync(MessageQuery query, CancellationToken cancellationToken)
    {
        var items = _messages.Values
            .Where(m => m.Owner == query.Owner && Matches(m, query))
            .OrderByDescending(m => m.Id)
            .Take(query.Limit + 1)
            .ToList();
        return Task.FromResult(new MessagePage(items.Take(query.Limit).Select(m => m.Message()).ToList(), items.Count > query.Limit));
    }

    private static bool Matches(HeldMessage m, MessageQuery q) =>
        (q.Status is null || m.Status == q.Status)
        && (q.Tag is null || m.Tags.Contains(q.Tag))
        && (q.From is null || string.Equals(m.Sender, q.From, StringComparison.OrdinalIgnoreCase))
        && (q.To is null || m.Addresses.Any(a => string.Equals(a, q.To, StringComparison.OrdinalIgnoreCase)))
        && (q.QueueId is null || m.QueueId == q.QueueId)
        && (q.CreatedAfter is null || m.CreatedAt > q.CreatedAfter)
        && (q.CreatedBefore is null || m.CreatedAt < q.CreatedBefore)
        && (q.Before is null || m.Id.CompareTo(q.Before.Value) < 0);

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
            .Select(m => m.Live)
            .OfType<StoredMessage>()
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
            foreach (var held in _messages.Values.Where(m => m.Status.IsFinal()).ToList())
            {
                if (held.UpdatedAt < deleteBefore)
                {
                    _messages.TryRemove(held.Id, out _);
                    Count(held, -1);
                    changed++;
                }
                else if (held.UpdatedAt < contentBefore && !held.ContentPurged)
                {
                    _messages[held.Id] = HeldMessage.Of(MessageOrder.WithoutContent(held.Message()) with { Version = held.Version + 1 });
                    changed++;
                }
            }
            foreach (var (key, (_, ids)) in _claims.Where(c => c.Value.Claim.ExpiresAt <= now).ToList())
            {
                _claims.Remove(key);
                Unclaim(ids);
            }
            ForgetPurged();
        }
        return Task.FromResult(changed);
    }

    public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => Task.FromResult(true);
}
