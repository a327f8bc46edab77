using MailApi.Grouping;

namespace MailApi.Delivery;

/// <summary>
/// Hangfire jobs that carry ids, created in groups (<see cref="GroupedCalls{TItem, TResult}"/>): the callers that come
/// while jobs are being created share the next jobs, so under load a job carries several callers' ids and at light load
/// nobody waits. Each caller's task ends when the jobs holding its ids exist, or with their error.
/// </summary>
/// <param name="create">Creates the jobs for these ids, due at one time (null: now); called on one thread at a time.</param>
public sealed class GroupCommit(Action<IReadOnlyList<Guid>, DateTime?> create)
{
    private readonly GroupedCalls<Request, bool> _requests = new(null, requests => Task.Run(() => CreateJobs(create, requests)));

    /// <summary>A caller's ids waiting for a job, due at <paramref name="At"/> (null: now).</summary>
    private sealed record Request(IReadOnlyList<Guid> Ids, DateTime? At);

    /// <summary>Ends when the jobs holding <paramref name="ids"/> exist; never throws itself.</summary>
    public Task AddAsync(IReadOnlyList<Guid> ids, DateTime? at) => _requests.CallAsync(new Request(ids, at));

    /// <summary>The jobs of a round, one due time at a time: a time whose jobs fail fails its own callers only.</summary>
    private static Task<Func<Request, bool>> CreateJobs(Action<IReadOnlyList<Guid>, DateTime?> create, IReadOnlyList<Request> requests) =>
        EachPart.ServeAsync<Request, bool>(
            requests.GroupBy(r => r.At).Select(time => (IReadOnlyList<Request>)[.. time]),
            time =>
            {
                create([.. time.SelectMany(r => r.Ids)], time[0].At);
                return Task.CompletedTask;
            },
            _ => true);
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
