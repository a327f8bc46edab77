namespace MailApi.Bounces;

/// <summary>
/// One report as the report log keeps it: what it was, how it was matched (or why not), and what it said of each recipient.
/// The raw mail is kept beside it (<see cref="IBounceStore.RawAsync"/>) for <see cref="BounceOptions.Retention"/>.
/// </summary>
public sealed record StoredReport
{
    /// <summary>UUIDv7 of its arrival: the log's order and cursor.</summary>
    public required Guid Id { get; init; }

    /// <summary>What makes two copies of a report one: its own Message-ID, else a digest of its bytes.</summary>
    public required string Identity { get; init; }

    public required DateTimeOffset ReceivedAt { get; init; }

    /// <summary><c>imap</c>, <c>http</c> or <c>dev</c> (the capture relay's test addresses).</summary>
    public required string Via { get; init; }

    /// <summary><c>dsn</c>, <c>complaint</c> or <c>other</c>.</summary>
    public required string Kind { get; init; }

    public string? From { get; init; }
    public string? Subject { get; init; }
    public string? ReportingMta { get; init; }

    /// <summary><c>verp</c>, <c>envelope_id</c>, <c>queue_id</c>, <c>message_id</c> or <c>failed_recipients</c>; null when unmatched.</summary>
    public string? MatchedBy { get; init; }

    /// <summary>The message it was matched to, and that message's key (only that key's message is ever changed).</summary>
    public Guid? MessageId { get; init; }

    public string? Owner { get; init; }

    public IReadOnlyList<ReportedRecipient> Recipients { get; init; } = [];

    /// <summary>Why it changed nothing: not a report, no message matched, a bad token, keys that disagree…</summary>
    public string? Reason { get; init; }

    /// <summary>
    /// The mail it was read from, when the IMAP reader read it: the IMAP URL of mailbox, UIDVALIDITY and UID (RFC 5092), so
    /// that mail, read again because a crash came before its move, is known without reading it (<see cref="ImapBounceMailbox"/>).
    /// </summary>
    public string? Source { get; init; }
}

/// <summary>What a report said of one recipient.</summary>
public sealed record ReportedRecipient(string Address, string Action, string? Status, string? Diagnostic, string Class);
