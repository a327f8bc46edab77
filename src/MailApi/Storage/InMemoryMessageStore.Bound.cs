namespace MailApi.Storage;

/// <remarks>
/// The bound. An add that would take the store past <c>maxMessages</c> first drops final messages, those that became final
/// longest ago first (so a message just finished, whose webhook events are still being dispatched, is the last to go), and
/// never one that is not final: when too few are final the add still succeeds and the store stays over the bound until
/// enough have finished. Nothing else indexes a dropped message except its idempotency key, which keeps the dropped
/// message's compressed copy until the key expires, so a repeat answers as before and never sends it again.
/// </remarks>
public sealed partial class InMemoryMessageStore
{
    /// <summary>The ids of final messages in the order they became final; ids of messages retention deleted are skipped.</summary>
    private Queue<Guid> _finishOrder = new();

    /// <summary>Until when an idempotency key names each message added with one.</summary>
    private readonly Dictionary<Guid, DateTimeOffset> _claimedUntil = [];

    /// <summary>Dropped messages whose idempotency key is still remembered: what a repeat of the request answers.</summary>
    private readonly Dictionary<Guid, HeldMessage> _dropped = [];

    /// <summary>Drops final messages, those that became final first, until <paramref name="adding"/> more fit or none is final; under the gate.</summary>
    private void MakeRoom(int adding)
    {
        var now = DateTimeOffset.UtcNow;
        while (_byStatus.Sum() + adding > maxMessages && _finishOrder.TryDequeue(out var id))
        {
            if (!_messages.TryGetValue(id, out var held) || !held.Status.IsFinal())
            {
                continue;
            }
            _messages.TryRemove(id, out _);
            Count(held, -1);
            if (_claimedUntil.Remove(id, out var until) && until > now)
            {
                _dropped[id] = held;
            }
        }
    }

    /// <summary>The message <paramref name="id"/> just became final: it joins the line to be dropped; under the gate.</summary>
    private void Finished(Guid id) => _finishOrder.Enqueue(id);

    /// <summary>An idempotency key names <paramref name="ids"/> until <paramref name="until"/>; under the gate.</summary>
    private void Claim(Guid[] ids, DateTimeOffset until)
    {
        foreach (var id in ids)
        {
            _claimedUntil[id] = until;
        }
    }

    /// <summary>The key that named <paramref name="ids"/> expired: their dropped copies go; under the gate.</summary>
    private void Unclaim(Guid[] ids)
    {
        foreach (var id in ids)
        {
            _claimedUntil.Remove(id);
            _dropped.Remove(id);
        }
    }

    /// <summary>A message an idempotency key names, as a repeat of its request answers it: held, or dropped and kept for the key.</summary>
    private StoredMessage? Claimed(Guid id) =>
        _messages.TryGetValue(id, out var held) ? held.Message() : _dropped.TryGetValue(id, out var dropped) ? dropped.Message() : null;

    /// <summary>After retention deleted messages: the line forgets them once they are most of it; under the gate.</summary>
    private void ForgetPurged()
    {
        var final = MessageStatuses.Final.Sum(s => _byStatus[(int)s]);
        if (_finishOrder.Count > 2 * final + 1024)
        {
            _finishOrder = new Queue<Guid>(_finishOrder.Where(_messages.ContainsKey));
        }
    }
}
