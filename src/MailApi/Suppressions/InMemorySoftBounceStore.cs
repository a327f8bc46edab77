using System.Collections.Concurrent;

namespace MailApi.Suppressions;

/// <summary>Soft-bounce streaks in memory: each change a compare-and-swap on the dictionary, retried when another won.</summary>
public sealed class InMemorySoftBounceStore : ISoftBounceStore
{
    private readonly ConcurrentDictionary<(string Owner, string Address), Streak> _streaks = new();

    public Task<SoftBounceStreak?> CountAsync(string owner, string address, Guid reportId, DateTimeOffset now, DateTimeOffset staleBefore,
        CancellationToken cancellationToken)
    {
        var key = (owner, address);
        while (true)
        {
            if (!_streaks.TryGetValue(key, out var old))
            {
                var first = new Streak(1, now, now, reportId);
                if (_streaks.TryAdd(key, first))
                {
                    return Task.FromResult<SoftBounceStreak?>(new(first.Count, first.FirstAt));
                }
                continue;
            }
            if (old.LastReport == reportId)
            {
                return Task.FromResult<SoftBounceStreak?>(null);
            }
            var next = old.LastAt < staleBefore ? new Streak(1, now, now, reportId) : old with { Count = old.Count + 1, LastAt = now, LastReport = reportId };
            if (_streaks.TryUpdate(key, next, old))
            {
                return Task.FromResult<SoftBounceStreak?>(new(next.Count, next.FirstAt));
            }
        }
    }

    public Task EndAsync(string owner, string address, int reached, CancellationToken cancellationToken)
    {
        var key = (owner, address);
        // Removes the very streak that was read: one counted meanwhile is read again and judged anew.
        while (_streaks.TryGetValue(key, out var old) && old.Count >= reached)
        {
            if (_streaks.TryRemove(KeyValuePair.Create(key, old)))
            {
                break;
            }
        }
        return Task.CompletedTask;
    }

    public Task<int> PurgeAsync(DateTimeOffset lastBefore, CancellationToken cancellationToken) =>
        Task.FromResult(_streaks.Count(s => s.Value.LastAt < lastBefore && _streaks.TryRemove(s)));

    /// <summary>A record, so that compare-and-swap compares values.</summary>
    private sealed record Streak(int Count, DateTimeOffset FirstAt, DateTimeOffset LastAt, Guid LastReport);
}
