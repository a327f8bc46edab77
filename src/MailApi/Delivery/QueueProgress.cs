namespace MailApi.Delivery;

/// <summary>
/// How far this instance's delivery jobs have come through the queue, so the orphan sweep re-queues exactly the
/// messages whose job is lost rather than every message that has waited a while. Jobs are taken about in the order
/// their messages became due; a message that became due well before one a job has already taken, and still waits,
/// has no job left. While nothing is taken and no job runs, the queue is idle and anything due waits for nothing.
/// </summary>
public sealed class QueueProgress(TimeProvider clock)
{
    private readonly Lock _gate = new();
    private DateTimeOffset _takenThrough = DateTimeOffset.MinValue;
    private DateTimeOffset _lastTakenAt = clock.GetUtcNow();

    /// <summary>A job took a message that became due (was queued, or its <c>sendAt</c> or retry time came) at <paramref name="dueAt"/>.</summary>
    public void Took(DateTimeOffset dueAt)
    {
        var now = clock.GetUtcNow();
        lock (_gate)
        {
            _lastTakenAt = now;
            if (dueAt > _takenThrough)
            {
                _takenThrough = dueAt;
            }
        }
    }

    /// <summary>
    /// The waiting messages that became due before the returned moment have lost their job. <paramref name="lateness"/>
    /// is the slack for jobs taken out of order (parallel workers, several messages a job, the scheduler's whole seconds).
    /// </summary>
    /// <param name="now">The sweep's time.</param>
    /// <param name="lateness">How late a message must be, at the least (<see cref="DeliveryOptions.SweepInterval"/>).</param>
    /// <param name="jobsRunning">Whether a delivery job of this instance holds a message now.</param>
    public DateTimeOffset LostIfDueBefore(DateTimeOffset now, TimeSpan lateness, bool jobsRunning)
    {
        lock (_gate)
        {
            if (!jobsRunning && now - _lastTakenAt >= lateness)
            {
                return now - lateness;
            }
            // Nothing taken yet while jobs run: nothing is known to be lost.
            return _takenThrough == DateTimeOffset.MinValue ? DateTimeOffset.UnixEpoch : Min(now - lateness, _takenThrough - lateness);
        }
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
