namespace MailApi.Storage;

/// <summary>
/// Where messages live. The endpoints and the delivery job use only this, so a durable implementation
/// can replace the in-memory one without touching either.
/// </summary>
public interface IMessageStore
{
    /// <summary>Stores a new message. When this returns, the message survives as long as the store does.</summary>
    Task AddAsync(StoredMessage message, CancellationToken cancellationToken);

    /// <summary>The message with this id, or null.</summary>
    Task<StoredMessage?> FindAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>
    /// Compare-and-set: writes <paramref name="updated"/> only if the stored version still equals
    /// <paramref name="updated"/>'s <see cref="StoredMessage.Version"/>, and returns the stored copy
    /// (with its version bumped), or null when someone else changed it first.
    /// </summary>
    Task<StoredMessage?> TryUpdateAsync(StoredMessage updated, CancellationToken cancellationToken);

    /// <summary>How many messages are not yet in a final status (for back-pressure).</summary>
    Task<long> CountPendingAsync(CancellationToken cancellationToken);

    /// <summary>True when the store can be read and written.</summary>
    Task<bool> IsReadyAsync(CancellationToken cancellationToken);
}
