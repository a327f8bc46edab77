namespace MailApi.Storage;

/// <summary>
/// Writes in groups, the way <c>Delivery/GroupCommit</c> groups job creation: the first caller with no write in flight
/// writes at once; callers that come while a write is in flight wait for it to end and then share one statement and one
/// commit, so under load they write together and at light load nobody waits. Each caller gets its own item's result; a
/// statement that fails fails every caller of its round with the same exception, so a caller tells an outage from
/// anything else exactly as it would alone.
/// </summary>
/// <param name="ids">The rows an item writes. A round never holds two items that write the same row.</param>
/// <param name="write">
/// Writes a round's items in one statement, called by one round at a time; returns each item's result, which may throw
/// that item's own error.
/// </param>
internal sealed class GroupedWrites<TItem, TResult>(Func<TItem, IEnumerable<Guid>> ids, Func<IReadOnlyList<TItem>, Task<Func<TItem, TResult>>> write)
    where TItem : notnull
{
    private readonly Lock _gate = new();
    private List<Waiting> _waiting = [];
    private bool _writing;

    /// <summary>A caller's item, and where its result goes.</summary>
    private sealed record Waiting(TItem Item, TaskCompletionSource<TResult> Done);

    /// <summary>
    /// Writes <paramref name="item"/> in the next round. The caller is queued before this returns, so calls made one after
    /// the other on one thread are written in that order.
    /// </summary>
    public Task<TResult> WriteAsync(TItem item)
    {
        var waiting = new Waiting(item, new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        bool start;
        lock (_gate)
        {
            _waiting.Add(waiting);
            start = !_writing;
            _writing = true;
        }
        if (start)
        {
            _ = WriteWaitingAsync();
        }
        return waiting.Done.Task;
    }

    /// <summary>Writes whatever waits, round after round, until a round finds nothing; never throws itself.</summary>
    private async Task WriteWaitingAsync()
    {
        while (true)
        {
            var round = new List<Waiting>();
            lock (_gate)
            {
                if (_waiting.Count == 0)
                {
                    _writing = false;
                    return;
                }
                // One write of a row a statement: PostgreSQL would drop a second update of a row in one statement, yet
                // report it written. An item that writes a row an earlier one writes waits for the next round, so the
                // rows are written in the order their callers came, each against what the one before left.
                var seen = new HashSet<Guid>();
                var later = new List<Waiting>();
                foreach (var waiting in _waiting)
                {
                    var own = ids(waiting.Item).ToList();
                    (own.Any(seen.Contains) ? later : round).Add(waiting);
                    seen.UnionWith(own);
                }
                _waiting = later;
            }
            Func<TItem, TResult> results;
            try
            {
                results = await write([.. round.Select(w => w.Item)]);
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
