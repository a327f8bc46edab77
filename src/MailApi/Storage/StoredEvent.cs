namespace MailApi.Storage;

/// <summary>
/// One status change of a message, kept in the message's own document so that it is written by the same
/// compare-and-set as the change it reports (one row, one statement: nothing can record one without the other).
/// </summary>
/// <remarks>A snapshot of what changed, never the transcript or the content; part of the stored document like
/// <see cref="StoredMessage"/>: renaming a property breaks stored rows.</remarks>
public sealed record StoredEvent
{
    public required Guid Id { get; init; }

    /// <summary>Counts the message's events from 1, so a receiver can order deliveries that arrive out of order.</summary>
    public required int Sequence { get; init; }

    /// <summary><c>message.sent</c>, <c>message.deferred</c>, …</summary>
    public required string Type { get; init; }

    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>The status the event reports (<c>queued</c> for <c>message.queued</c>).</summary>
    public required MessageStatus Status { get; init; }

    /// <summary>How many delivery attempts the message had when the event happened.</summary>
    public int Attempt { get; init; }

    public string? Upstream { get; init; }
    public string? QueueId { get; init; }

    /// <summary>The reply that caused the change, if a reply did.</summary>
    public StoredReply? Reply { get; init; }

    public string? Error { get; init; }
    public IReadOnlyList<RecipientState> Recipients { get; init; } = [];
    public DateTimeOffset? NextAttemptAt { get; init; }
    public bool PossibleDuplicate { get; init; }
}
