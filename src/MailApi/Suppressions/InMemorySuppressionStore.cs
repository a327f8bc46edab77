namespace MailApi.Suppressions;

/// <summary>The suppression lists in memory: a dictionary per key, so a lookup is a hash probe however long the list.</summary>
public sealed class InMemorySuppressionStore : ISuppressionStore
{
    private readonly Dictionary<string, Dictionary<string, StoredSuppression>> _lists = [];
    private readonly Lock _gate = new();

    public Task<IReadOnlyDictionary<string, StoredSuppression>> FindAsync(string owner, IReadOnlyCollection<string> addresses, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, StoredSuppression>();
        lock (_gate)
        {
            if (_lists.TryGetValue(owner, out var list))
            {
                foreach (var address in addresses)
                {
                    if (list.TryGetValue(address, out var entry) && entry.IsLive(now))
                    {
                        found[address] = entry;
                    }
                }
            }
        }
        return Task.FromResult<IReadOnlyDictionary<string, StoredSuppression>>(found);
    }

    public Task<bool> PutAsync(StoredSuppression entry, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var list = ListOf(entry.Owner);
            var isNew = !list.TryGetValue(entry.Address, out var old) || !old.IsLive(now);
            list[entry.Address] = entry;
            return Task.FromResult(isNew);
        }
    }

    public Task<bool> AddIfAbsentAsync(StoredSuppression entry, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var list = ListOf(entry.Owner);
            if (list.TryGetValue(entry.Address, out var old) && old.IsLive(now))
            {
                return Task.FromResult(false);
            }
            list[entry.Address] = entry;
            return Task.FromResult(true);
        }
    }

    public Task<StoredSuppression?> DeleteAsync(string owner, string address, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_lists.TryGetValue(owner, out var list) && list.Remove(address, out var entry) && entry.IsLive(now) ? entry : null);
        }
    }

    public Task<SuppressionPage> ListAsync(SuppressionQuery query, DateTimeOffset now, CancellationToken cancellationToken)
    {
        List<StoredSuppression> matching;
        lock (_gate)
        {
            matching = _lists.TryGetValue(query.Owner, out var list)
                ? list.Values.Where(e => e.IsLive(now)
                    && (query.Reason is not { } reason || e.Reason == reason)
                    && (query.Address is not { } address || (address.StartsWith('@') ? e.Address.EndsWith(address, StringComparison.Ordinal) : e.Address == address))
                    && (query.Before is not { } before || e.Id.CompareTo(before) < 0)).ToList()
                : [];
        }
        var page = matching.OrderByDescending(e => e.Id).Take(query.Limit + 1).ToList();
        return Task.FromResult(new SuppressionPage(page.Take(query.Limit).ToList(), page.Count > query.Limit));
    }

    public Task<IReadOnlyDictionary<SuppressionReason, long>> CountAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            IReadOnlyDictionary<SuppressionReason, long> counts = _lists.Values.SelectMany(l => l.Values).Where(e => e.IsLive(now))
                .GroupBy(e => e.Reason).ToDictionary(g => g.Key, g => (long)g.LongCount());
            return Task.FromResult(counts);
        }
    }

    private Dictionary<string, StoredSuppression> ListOf(string owner)
    {
        if (!_lists.TryGetValue(owner, out var list))
        {
            _lists[owner] = list = [];
        }
        return list;
    }
}
