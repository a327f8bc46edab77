namespace MailApi.Grouping;

/// <summary>
/// Calls in groups (group commit): the first caller with no call in flight is served at once; callers that come while a
/// call is in flight wait for it to end and then share the next one, so under load they share one statement, one commit
/// or one job, and at light load nobody waits. Each caller gets its own item's result; a call that fails fails every
/// caller of its round with the same exception, so a caller tells an outage from anything else exactly as it would alone.
/// The store's inserts, compare-and-set updates and suppression lookups, and the delivery jobs, are shared this way.
/// </summary>
/// <param name="rows">
/// The rows an item writes, when two items of one round must never write the same row (null: items never clash).
/// </param>
/// <param name="call">
/// Serves a round's items in one go, called by one round at a time; returns each item's result, which may throw that
/// item's own error.
/// </param>
internal sealed class GroupedCalls<TItem, TResult>(Func<TItem, IEnumerable<Guid>>? rows, Func<IReadOnlyList<TItem>, Task<Func<TItem, TResult>>> call)
    where TItem : notnull
{
    private readonly Lock _gate = new();
    private List<Waiting> _waiting = [];
    private bool _calling;

    /// <summary>A caller's item, and where its result goes.</summary>
    private sealed record Waiting(TItem Item, TaskCompletionSource<TResult> Done);

    /// <summary>
    /// Serves <paramref name="item"/> in the next round. The caller is queued before this returns, so calls made one after
    /// the other on one thread are served in that order.
    /// </summary>
    public Task<TResult> CallAsync(TItem item)
    {
        var waiting = new Waiting(item, new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        bool start;
        lock (_gate)
        {
            _waiting.Add(waiting);
            start = !_calling;
            _calling = true;
        }
        if (start)
        {
            _ = CallWaitingAsync();
        }
        return waiting.Done.Task;
    }

    /// <summary>Serves whatever waits, round after round, until a round finds nothing; never throws itself.</summary>
    private async Task CallWaitingAsync()
    {
        while (true)
        {
            var round = new List<Waiting>();
            lock (_gate)
            {
                if (_waiting.Count == 0)
                {
                    _calling = false;
                    return;
                }
                if (rows is null)
                {
                    (round, _waiting) = (_waiting, []);
                }
                else
                {
                    // One write of a row a statement: PostgreSQL would drop a second update of a row in one statement, yet
                    // report it written. An item that writes a row an earlier one writes waits for the next round, so the
                    // rows are written in the order their callers came, each against what the one before left.
                    var seen = new HashSet<Guid>();
                    var later = new List<Waiting>();
                    foreach (var waiting in _waiting)
                    {
                        var own = rows(waiting.Item).ToList();
                        (own.Any(seen.Contains) ? later : round).Add(waiting);
                        seen.UnionWith(own);
                    }
                    _waiting = later;
                }
            }
            Func<TItem, TResult> results;
            try
            {
                results = await call([.. round.Select(w => w.Item)]);
            }
            catch (Exception ex)
            {
                foreach (var waiting in round)
                {
                    waiting.Done.SetException(ex);
                }
                continue;
            }
            foreach (var waiting in round)
            {
                try
                {
                    waiting.Done.SetResult(results(waiting.Item));
                }
                catch (Exception ex)
                {
                    waiting.Done.SetException(ex);
                }
            }
        }
    }
}
