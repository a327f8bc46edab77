namespace MailApi.Delivery;

/// <summary>
/// Group commit for Hangfire jobs that carry ids: the first caller with nobody creating jobs starts at once; the callers
/// that come while jobs are being created wait for that to end and then share jobs, so under load a job carries several
/// callers' ids and at light load nobody waits. Each caller's task ends when the jobs holding its ids exist, or with
/// their error.
/// </summary>
/// <param name="create">Creates the jobs for these ids, due at one time (null: now); called on one thread at a time.</param>
public sealed class GroupCommit(Action<IReadOnlyList<Guid>, DateTime?> create)
{
    private readonly Lock _gate = new();
    private List<Waiting> _waiting = [];
    private bool _creating;

    /// <summary>A caller's ids waiting for a job, due at <paramref name="At"/> (null: now).</summary>
    private sealed record Waiting(IReadOnlyList<Guid> Ids, DateTime? At, TaskCompletionSource Created);

    /// <summary>Ends when the jobs holding <paramref name="ids"/> exist; never throws itself.</summary>
    public Task AddAsync(IReadOnlyList<Guid> ids, DateTime? at)
    {
        var waiting = new Waiting(ids, at, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        bool start;
        lock (_gate)
        {
            _waiting.Add(waiting);
            start = !_creating;
            _creating = true;
        }
        if (start)
        {
            _ = Task.Run(CreateWaiting);
        }
        return waiting.Created.Task;
    }

    /// <summary>Creates jobs for whatever waits, round after round, until a round finds nothing.</summary>
    private void CreateWaiting()
    {
        while (true)
        {
            List<Waiting> round;
            lock (_gate)
            {
                if (_waiting.Count == 0)
                {
                    _creating = false;
                    return;
                }
                (round, _waiting) = (_waiting, []);
            }
            foreach (var time in round.GroupBy(w => w.At))
            {
                try
                {
                    create(time.SelectMany(w => w.Ids).ToList(), time.Key);
                    foreach (var waiting in time)
                    {
                        waiting.Created.SetResult();
                    }
                }
                catch (Exception ex)
                {
                    foreach (var waiting in time)
                    {
                        waiting.Created.SetException(ex);
                    }
                }
            }
        }
    }
}

/// <summary>Hangfire keeps schedules in whole seconds, truncated: a job's time rounded up keeps it from running early.</summary>
public static class HangfireSchedule
{
    public static DateTime RoundUpToSecond(DateTimeOffset at)
    {
        var ticks = at.UtcTicks;
        return new DateTime(ticks % TimeSpan.TicksPerSecond == 0 ? ticks : ticks - ticks % TimeSpan.TicksPerSecond + TimeSpan.TicksPerSecond, DateTimeKind.Utc);
    }
}
