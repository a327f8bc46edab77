using System.Collections.Concurrent;

namespace MailApi.Delivery;

/// <summary>
/// The messages this instance's delivery jobs hold right now. A message the store says this instance is sending, but
/// which is not here, was left by a job that ended before it could record the outcome (a storage outage, a crash of the
/// job): the orphan sweep hands it to a new job, whatever the health of the instance.
/// </summary>
public sealed class InFlightMessages
{
    private readonly ConcurrentDictionary<Guid, byte> _messages = new();

    /// <summary>Takes <paramref name="messageId"/> for the calling job; false when another job of this instance has it.</summary>
    public bool TryEnter(Guid messageId) => _messages.TryAdd(messageId, 0);

    public void Exit(Guid messageId) => _messages.TryRemove(messageId, out _);

    /// <summary>A snapshot of the ids held now.</summary>
    public IReadOnlyCollection<Guid> Snapshot() => [.. _messages.Keys];
}
