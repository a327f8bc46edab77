namespace MailApi.Suppressions;

/// <summary>
/// Soft bounces in a row, per key and address (normal form): how many, since when, and the report that counted last.
/// Every change is one atomic step, so instances counting the same address at once lose no count: a row upserted in one
/// statement on PostgreSQL, a <see cref="System.Collections.Concurrent.ConcurrentDictionary{TKey,TValue}"/> in memory.
/// </summary>
public interface ISoftBounceStore
{
    /// <summary>
    /// Counts one soft bounce, told by report <paramref name="reportId"/>: the streak after it, which starts again at one
    /// when its last soft bounce was before <paramref name="staleBefore"/>. Null when that report is the streak's last
    /// (it counted already: a report read twice counts once).
    /// </summary>
    Task<SoftBounceStreak?> CountAsync(string owner, string address, Guid reportId, DateTimeOffset now, DateTimeOffset staleBefore,
        CancellationToken cancellationToken);

    /// <summary>
    /// Ends the streak, when its count is at least <paramref name="reached"/>: after a suppression, a streak that was ended
    /// and started again meanwhile by another instance is kept.
    /// </summary>
    Task EndAsync(string owner, string address, int reached, CancellationToken cancellationToken);

    /// <summary>Deletes the streaks whose last soft bounce was before <paramref name="lastBefore"/> (the next one starts afresh anyway).</summary>
    Task<int> PurgeAsync(DateTimeOffset lastBefore, CancellationToken cancellationToken);
}

/// <summary>A streak of soft bounces: how many in a row, and when the first of them came.</summary>
public sealed record SoftBounceStreak(int Count, DateTimeOffset FirstAt);
