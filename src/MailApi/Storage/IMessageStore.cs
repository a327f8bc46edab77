namespace MailApi.Storage;

/// <summary>
/// Where messages live. The endpoints and the delivery job use only this, so the in-memory and the PostgreSQL
/// stores are interchangeable; the shared store test suite runs against both.
/// </summary>
public interface IMessageStore
{
    /// <summary>
    /// Stores new messages, all or none. With an idempotency claim, either the claim and the messages are stored
    /// together, or an unexpired claim with the same owner and key exists and its messages are returned instead.
    /// When this returns, the messages survive as long as the store does.
    /// </summary>
    Task<AddResult> AddAsync(IReadOnlyList<StoredMessage> messages, IdempotencyClaim? claim, CancellationToken cancellationToken);

    /// <summary>The message with this id, or null.</summary>
    Task<StoredMessage?> FindAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>
    /// Compare-and-set: writes <paramref name="updated"/> only if the stored version still equals
    /// <paramref name="updated"/>'s <see cref="StoredMessage.Version"/>, and returns the stored copy
    /// (with its version bumped), or null when someone else changed it first.
    /// </summary>
    Task<StoredMessage?> TryUpdateAsync(StoredMessage updated, CancellationToken cancellationToken);

    /// <summary>
    /// Takes those of <paramref name="ids"/> that are <c>queued</c> for delivery by <paramref name="worker"/>, all in one
    /// write: each becomes <c>sending</c> on that worker at <paramref name="now"/>, exactly as a compare-and-set from its
    /// stored version would make it. Returns the stored copies of the messages taken; the others are left as they are.
    /// Queued messages carry no event yet, so taking them records none (<c>MessageEvents</c>).
    /// </summary>
    Task<IReadOnlyList<StoredMessage>> TakeQueuedAsync(IReadOnlyList<Guid> ids, string worker, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// The messages, of any key, whose relay gave this queue id and that were sent at or after <paramref name="sentAfter"/>
    /// (a bounce report names the queue id; the caller checks the recipient and the key).
    /// </summary>
    Task<IReadOnlyList<StoredMessage>> FindByQueueIdAsync(string queueId, DateTimeOffset sentAfter, CancellationToken cancellationToken);

    /// <summary>One page of one owner's messages, newest first.</summary>
    Task<MessagePage> ListAsync(MessageQuery query, CancellationToken cancellationToken);

    /// <summary>How many messages are not yet in a final status, and the bytes of their content (for back-pressure).</summary>
    Task<Backlog> BacklogAsync(CancellationToken cancellationToken);

    /// <summary>How many messages are in each status that is not final (<see cref="MessageStatuses.Pending"/>), for the queue-depth gauge.</summary>
    Task<IReadOnlyDictionary<MessageStatus, long>> CountPendingAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Messages that may have lost their delivery job: <c>sending</c> on an instance whose heartbeat is older than
    /// <paramref name="deadBefore"/>, or on <paramref name="self"/> but not among <paramref name="inFlight"/> (its job
    /// ended without recording the outcome, e.g. in a storage outage); <c>queued</c> or <c>deferred</c>/<c>scheduled</c>
    /// and due before <paramref name="dueBefore"/>.
    /// </summary>
    Task<IReadOnlyList<Guid>> FindOrphansAsync(DateTimeOffset deadBefore, DateTimeOffset dueBefore, string self, IReadOnlyCollection<Guid> inFlight,
        int limit, CancellationToken cancellationToken);

    /// <summary>Records that <paramref name="instance"/> is alive at <paramref name="now"/>.</summary>
    Task HeartbeatAsync(string instance, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>The last heartbeat of <paramref name="instance"/>, or null if it never sent one.</summary>
    Task<DateTimeOffset?> LastHeartbeatAsync(string instance, CancellationToken cancellationToken);

    /// <summary>
    /// Retention for messages in a final status: drops the content (bodies, attachments, custom headers, transcripts)
    /// of those last updated before <paramref name="contentBefore"/>, and deletes those updated before
    /// <paramref name="deleteBefore"/>. Expired idempotency claims go too. Returns how many messages were changed.
    /// </summary>
    Task<int> PurgeAsync(DateTimeOffset contentBefore, DateTimeOffset deleteBefore, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>True when the store can be read and written.</summary>
    Task<bool> IsReadyAsync(CancellationToken cancellationToken);
}

/// <summary>"This request was made once": the caller's <c>Idempotency-Key</c>, scoped to its API key, with a digest of the body.</summary>
public sealed record IdempotencyClaim(string Owner, string Key, string RequestHash, DateTimeOffset ExpiresAt);

/// <summary>What <see cref="IMessageStore.AddAsync"/> did.</summary>
/// <param name="Created">True when the messages were stored now; false when an earlier claim was found.</param>
/// <param name="Messages">The stored messages, or those of the earlier claim, in request order.</param>
/// <param name="ExistingRequestHash">The earlier claim's request digest, when <paramref name="Created"/> is false.</param>
public sealed record AddResult(bool Created, IReadOnlyList<StoredMessage> Messages, string? ExistingRequestHash);

/// <summary>What waits to be sent: messages not in a final status and the bytes of their content.</summary>
public readonly record struct Backlog(long Messages, long Bytes);

/// <summary>Filters for <c>GET /v1/messages</c>.</summary>
public sealed record MessageQuery
{
    public required string Owner { get; init; }
    public MessageStatus? Status { get; init; }
    public string? Tag { get; init; }
    /// <summary>Bare sender address, compared without case.</summary>
    public string? From { get; init; }
    /// <summary>Bare recipient address (To, Cc or Bcc), compared without case.</summary>
    public string? To { get; init; }
    public string? QueueId { get; init; }
    public DateTimeOffset? CreatedAfter { get; init; }
    public DateTimeOffset? CreatedBefore { get; init; }
    /// <summary>Only messages older than this id (ids are time-ordered UUIDv7).</summary>
    public Guid? Before { get; init; }
    public int Limit { get; init; } = 50;
}

/// <summary>A page of messages and whether more follow.</summary>
public sealed record MessagePage(IReadOnlyList<StoredMessage> Items, bool HasMore);
