namespace MailApi.Bounces;

/// <summary>The report log in memory.</summary>
public sealed class InMemoryBounceStore : IBounceStore
{
    private readonly SortedDictionary<Guid, (StoredReport Report, byte[] Raw)> _reports = [];
    private readonly Dictionary<string, Guid> _identities = [];
    private readonly Dictionary<string, Guid> _sources = [];
    private readonly Lock _gate = new();

    public Task<(StoredReport Report, bool Added)> AddAsync(StoredReport report, byte[] raw, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_identities.TryGetValue(report.Identity, out var existing))
            {
                return Task.FromResult((_reports[existing].Report, false));
            }
            _identities[report.Identity] = report.Id;
            if (report.Source is { } source)
            {
                _sources[source] = report.Id;
            }
            _reports[report.Id] = (report, raw);
            return Task.FromResult((report, true));
        }
    }

    public Task<StoredReport?> FindByIdentityAsync(string identity, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_identities.TryGetValue(identity, out var id) ? _reports[id].Report : null);
        }
    }

    public Task<StoredReport?> FindBySourceAsync(string source, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_sources.TryGetValue(source, out var id) ? _reports[id].Report : null);
        }
    }

    public Task<StoredReport?> FindAsync(Guid id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_reports.TryGetValue(id, out var entry) ? entry.Report : null);
        }
    }

    public Task<byte[]?> RawAsync(Guid id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_reports.TryGetValue(id, out var entry) ? entry.Raw : null);
        }
    }

    public Task<(IReadOnlyList<StoredReport> Items, bool HasMore)> ListAsync(bool? matched, Guid? before, int limit, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var page = _reports.Values.Select(e => e.Report).Reverse()
                .Where(r => (before is not { } b || r.Id.CompareTo(b) < 0) && (matched is not { } m || (r.MatchedBy is not null) == m))
                .Take(limit + 1).ToList();
            return Task.FromResult<(IReadOnlyList<StoredReport>, bool)>((page.Take(limit).ToList(), page.Count > limit));
        }
    }

    public Task<int> PurgeAsync(DateTimeOffset receivedBefore, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var old = _reports.Values.Where(e => e.Report.ReceivedAt < receivedBefore).Select(e => e.Report).ToList();
            foreach (var report in old)
            {
                _reports.Remove(report.Id);
                _identities.Remove(report.Identity);
                if (report.Source is { } source)
                {
                    _sources.Remove(source);
                }
            }
            return Task.FromResult(old.Count);
        }
    }
}
