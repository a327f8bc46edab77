namespace MailApi.Storage;

/// <summary>
/// Compare-and-set writes in groups, the way <c>Delivery/GroupCommit</c> groups job creation: the first caller with no
/// write in flight writes at once; callers that come while a write is in flight wait for it to end and then share one
/// statement and one commit, so under load concurrent dialogues record their outcomes together and at light load nobody
/// waits. Each caller gets its own row's result; a statement that fails fails every caller of its round with the same
/// exception, so a caller tells an outage from a lost compare-and-set exactly as it would alone.
/// </summary>
/// <param name="write">
/// Writes each of <c>rows</c> (distinct ids, each at its new version) only if the stored version is the one before it,
/// in one statement; returns the ids it wrote. Called by one round at a time.
/// </param>
internal sealed class GroupedUpdates(Func<IReadOnlyList<StoredMessage>, Task<IReadOnlySet<Guid>>> write)
{
    private readonly Lock _gate = new();
    private List<Waiting> _waiting = [];
    private bool _writing;

    /// <summary>A caller's row at its new version, and where its result goes.</summary>
    private sealed record Waiting(StoredMessage Next, TaskCompletionSource<StoredMessage?> Done);

    /// <summary>
    /// Writes <paramref name="next"/> if the stored version is still <c>next.Version - 1</c>: its stored copy, or null when
    /// someone else changed it first. The caller is queued before this returns, so calls made one after the other on one
    /// thread are written in that order.
    /// </summary>
    public Task<StoredMessage?> UpdateAsync(StoredMessage next)
    {
        var waiting = new Waiting(next, new TaskCompletionSource<StoredMessage?>(TaskCreationOptions.RunContinuationsAsynchronously));
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
                // One row per id a statement: a second update of the same row in one statement would be silently dropped
                // by PostgreSQL, yet reported written. It goes in the next round, against the version this one leaves.
                var ids = new HashSet<Guid>();
                var later = new List<Waiting>();
                foreach (var waiting in _waiting)
                {
                    (ids.Add(waiting.Next.Id) ? round : later).Add(waiting);
                }
                _waiting = later;
            }
            try
            {
                var written = await write([.. round.Select(w => w.Next)]);
                foreach (var waiting in round)
                {
                    waiting.Done.SetResult(written.Contains(waiting.Next.Id) ? waiting.Next : null);
                }
            }
            catch (Exception ex)
            {
                foreach (var waiting in round)
                {
                    waiting.Done.SetException(ex);
                }
            }
        }
    }
}
