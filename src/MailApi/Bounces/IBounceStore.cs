namespace MailApi.Bounces;

/// <summary>The report log: every report taken in, once each, with its raw mail; in memory or in PostgreSQL.</summary>
public interface IBounceStore
{
    /// <summary>
    /// Stores the report and its raw mail unless a report with the same <see cref="StoredReport.Identity"/> is stored;
    /// returns the stored one (this one when it was new) and whether it was new.
    /// </summary>
    Task<(StoredReport Report, bool Added)> AddAsync(StoredReport report, byte[] raw, CancellationToken cancellationToken);

    /// <summary>The stored report with this identity, or null.</summary>
    Task<StoredReport?> FindByIdentityAsync(string identity, CancellationToken cancellationToken);

    /// <summary>The stored report read from this mail (<see cref="StoredReport.Source"/>), or null.</summary>
    Task<StoredReport?> FindBySourceAsync(string source, CancellationToken cancellationToken);

    Task<StoredReport?> FindAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>The raw mail of a report, or null when it is gone.</summary>
    Task<byte[]?> RawAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>One page of reports, newest first: all, or only the matched or unmatched ones; older than <paramref name="before"/>.</summary>
    Task<(IReadOnlyList<StoredReport> Items, bool HasMore)> ListAsync(bool? matched, Guid? before, int limit, CancellationToken cancellationToken);

    /// <summary>Deletes reports received before <paramref name="receivedBefore"/>; how many went.</summary>
    Task<int> PurgeAsync(DateTimeOffset receivedBefore, CancellationToken cancellationToken);
}
