namespace MailApi.Storage;

/// <summary>
/// A message as the store keeps it: what the caller sent and everything the delivery learned.
/// Immutable: every change is a new instance written with <see cref="IMessageStore.TryUpdateAsync"/>.
/// </summary>
/// <remarks>
/// This record and the ones it holds are the stored document (PostgreSQL keeps it as jsonb): a renamed or removed
/// property breaks stored rows. They belong to the store alone; the protocol (<c>Delivery.Smtp</c>) and the HTTP answer
/// (<c>Messages</c>) have records of their own. Reading ignores properties it does not know, so a property can be added
/// freely; a change that old rows cannot be read with needs a script in <c>Storage/Sql</c> that rewrites them.
/// </remarks>
public sealed record StoredMessage
{
    public required Guid Id { get; init; }

    /// <summary>The name of the API key that created it; only that key can see it.</summary>
    public required string Owner { get; init; }

    public required MessageStatus Status { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
    public DateTimeOffset? SendAt { get; init; }
    public DateTimeOffset? SentAt { get; init; }
    public DateTimeOffset? NextAttemptAt { get; init; }

    public required MessageContent Content { get; init; }

    /// <summary>The Message-ID header, with its angle brackets.</summary>
    public required string MessageId { get; init; }

    public string? Upstream { get; init; }
    public string? QueueId { get; init; }
    public StoredReply? FinalReply { get; init; }
    public required IReadOnlyList<RecipientState> Recipients { get; init; }
    public IReadOnlyList<DeliveryAttempt> Attempts { get; init; } = [];
    public bool PossibleDuplicate { get; init; }

    /// <summary>Every status change so far, oldest first (<see cref="StoredEvent"/>); rows from before events read as none.</summary>
    public IReadOnlyList<StoredEvent> Events { get; init; } = [];

    /// <summary>The instance whose worker holds the message while it is <c>sending</c>.</summary>
    public string? Worker { get; init; }

    /// <summary>Retention dropped the bodies, attachments and transcripts; the summary remains.</summary>
    public bool ContentPurged { get; init; }

    /// <summary>Bytes of content (bodies, attachments, custom headers) the message holds while it waits (Limits:MaxPendingBytes).</summary>
    public long ContentBytes { get; init; }

    /// <summary>The bare address of <c>from</c>: the envelope sender, and what the list filter compares.</summary>
    public required string Sender { get; init; }

    /// <summary>Bumped by the store on every update; the compare-and-set token.</summary>
    public long Version { get; init; }

    /// <summary>This message as a delivery job takes it: <c>sending</c> on <paramref name="worker"/> from <paramref name="now"/>.</summary>
    public StoredMessage TakenBy(string worker, DateTimeOffset now) =>
        this with { Status = MessageStatus.Sending, Worker = worker, UpdatedAt = now, NextAttemptAt = null };
}

/// <summary>What the caller asked to send, validated and normalised (CRLF line ends, decoded attachments).</summary>
public sealed record MessageContent
{
    public required string From { get; init; }
    public IReadOnlyList<string> To { get; init; } = [];
    public IReadOnlyList<string> Cc { get; init; } = [];
    public IReadOnlyList<string> Bcc { get; init; } = [];
    public IReadOnlyList<string> ReplyTo { get; init; } = [];
    public required string Subject { get; init; }
    public string? Text { get; init; }
    public string? Html { get; init; }
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();
    public IReadOnlyList<AttachmentContent> Attachments { get; init; } = [];
    public IReadOnlyList<string> Tags { get; init; } = [];
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
}

public sealed record AttachmentContent(string Filename, string? ContentType, byte[] Content, string? ContentId);

/// <summary>
/// One envelope recipient (To, Cc and Bcc alike) and the upstream's last word on it; when <see cref="RecipientStatus.Suppressed"/>,
/// the suppression-list entry that kept it from the relay; when a bounce report named it, the report's word on it.
/// </summary>
public sealed record RecipientState(string Address, RecipientStatus Status, StoredReply? Reply, RecipientSuppression? Suppression = null,
    RecipientBounce? Bounce = null);

/// <summary>
/// What a bounce report said of a recipient the relay had accepted: <see cref="Action"/> <c>failed</c> (the recipient is
/// then <c>bounced</c>) or <c>delayed</c> (still accepted), the enhanced status, the diagnostic, the MTAs, the class.
/// </summary>
public sealed record RecipientBounce(string Action, string? Status, string? Diagnostic, string? RemoteMta, string? ReportingMta,
    string Class, Guid ReportId, DateTimeOffset At);

/// <summary>Why a recipient was never offered to the relay: its key's suppression list has it, for this reason, since then.</summary>
public sealed record RecipientSuppression(Suppressions.SuppressionReason Reason, DateTimeOffset Since);

/// <summary>An SMTP reply as stored: its code, its RFC 3463 enhanced code or null, its lines joined with <c>"\n"</c>.</summary>
public sealed record StoredReply(int Code, string? EnhancedCode, string Text);

/// <summary>One command of a dialogue as stored (null for the greeting) and the reply it got (null when none came).</summary>
public sealed record StoredTranscriptEntry(string? Command, StoredReply? Reply);

/// <summary>One SMTP dialogue with the upstream, successful or not.</summary>
public sealed record DeliveryAttempt
{
    public required int Number { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    public required MessageStatus Outcome { get; init; }
    public string? Error { get; init; }
    public required string Upstream { get; init; }

    /// <summary>The relay connection that carried the attempt.</summary>
    public string? ConnectionId { get; init; }

    /// <summary>The connection was opened for an earlier message; its greeting, EHLO and AUTH are in that message's attempt.</summary>
    public bool ReusedConnection { get; init; }

    public IReadOnlyList<StoredTranscriptEntry> Transcript { get; init; } = [];

    /// <summary>
    /// This relay failed before taking anything (unreachable, TLS, timeout, 421, a refused greeting, EHLO or AUTH) and
    /// the next relay was tried at once: the attempt does not count against the retry schedule.
    /// </summary>
    public bool FailedOver { get; init; }

    /// <summary>
    /// The worker stopped (crash, kill) during this attempt: whether the relay took the message is unknown.
    /// </summary>
    public bool Interrupted { get; init; }
}
