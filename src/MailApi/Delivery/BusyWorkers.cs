using Microsoft.Extensions.Options;

namespace MailApi.Delivery;

/// <summary>
/// The delivery jobs running on this instance, the Hangfire jobs waiting for a worker, and the due messages handed to the
/// running jobs while every worker is spoken for. A new job then would only wait in Hangfire's queue for a worker to come
/// free, at the cost of Hangfire's statements and commits; instead each running job takes the handed-off messages after
/// its own, in the order they came. A handed-off message is already stored <c>queued</c>: should this instance stop before
/// a job takes it, the last job to leave gives it a job of its own, and after a crash the orphan sweep finds it.
/// </summary>
/// <remarks>
/// No job waits behind the hand-offs: once a Hangfire job of any kind (a delivery job, a webhook, a due retry) has waited
/// <see cref="Patience"/> for a worker, one running delivery job leaves its worker to it instead of taking more hand-offs
/// (one for each such job); what it leaves is taken by the jobs still running, or given jobs of its own by the last to
/// leave.
/// </remarks>
public sealed class BusyWorkers(IOptions<DeliveryOptions> options, TimeProvider clock)
{
    /// <summary>
    /// How long a job may wait for a worker before the running jobs give theirs up. A job with a free worker starts within
    /// Hangfire's queue poll (500 ms on PostgreSQL), so one that waits longer has none.
    /// </summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A job counted as waiting that has not started here for this long is taken to have started on another instance on the
    /// same database (its start is seen there, not here), and is no longer counted.
    /// </summary>
    public static readonly TimeSpan Forgotten = TimeSpan.FromSeconds(30);

    private readonly Lock _gate = new();
    private readonly Queue<Guid> _handedOff = new();
    private readonly Queue<DateTimeOffset> _waiting = new();
    private int _running;
    private int _yielded;

    /// <summary>A Hangfire job (of any kind) was enqueued here, and waits for a worker.</summary>
    public void JobEnqueued()
    {
        lock (_gate)
        {
            _waiting.Enqueue(clock.GetUtcNow());
        }
    }

    /// <summary>
    /// A Hangfire job left the queue here (it started, or was deleted). Jobs are fetched about in the order they came, and one
    /// enqueued by another instance may start here: the longest-waiting is the one no longer counted, and a worker given up
    /// to it is taken.
    /// </summary>
    public void JobStarted()
    {
        lock (_gate)
        {
            _waiting.TryDequeue(out _);
            _yielded = Math.Max(0, _yielded - 1);
        }
    }

    /// <summary>A delivery job starts taking messages.</summary>
    public void Enter()
    {
        lock (_gate)
        {
            _running++;
        }
    }

    /// <summary>
    /// True, and the messages are the running jobs' to take, when a delivery job runs and every worker is spoken for: each runs
    /// a delivery job or is about to start a waiting job. False when a worker would be free for a job of their own.
    /// </summary>
    public bool TryHandOff(IReadOnlyList<Guid> messageIds)
    {
        lock (_gate)
        {
            ForgetStale();
            if (_running == 0 || _running + _waiting.Count < options.Value.Workers)
            {
                return false;
            }
            foreach (var id in messageIds)
            {
                _handedOff.Enqueue(id);
            }
            return true;
        }
    }

    /// <summary>
    /// For a job done with its own messages: up to <paramref name="max"/> handed-off ones to deliver next. False when none is
    /// left, or when a job has waited <see cref="Patience"/> for a worker and no other job has left its worker to it yet:
    /// the caller then leaves (<see cref="Leave"/>).
    /// </summary>
    public bool TryTake(int max, out Guid[] messageIds)
    {
        lock (_gate)
        {
            messageIds = [];
            if (_handedOff.Count == 0)
            {
                return false;
            }
            ForgetStale();
            if (Overdue() > _yielded)
            {
                _yielded++;
                return false;
            }
            messageIds = Dequeue(max);
            return true;
        }
    }

    /// <summary>
    /// A job leaves (done, shut down, or faulted). The last job to leave gets whatever is still handed off, to give it jobs of
    /// its own; while any job runs, that one takes them.
    /// </summary>
    public Guid[] Leave()
    {
        lock (_gate)
        {
            _running--;
            return _running == 0 ? Dequeue(_handedOff.Count) : [];
        }
    }

    /// <summary>The jobs that have waited <see cref="Patience"/> or longer (the oldest come first).</summary>
    private int Overdue()
    {
        var before = clock.GetUtcNow() - Patience;
        var overdue = 0;
        foreach (var since in _waiting)
        {
            if (since > before)
            {
                break;
            }
            overdue++;
        }
        return overdue;
    }

    private void ForgetStale()
    {
        var now = clock.GetUtcNow();
        while (_waiting.TryPeek(out var since) && now - since >= Forgotten)
        {
            _waiting.Dequeue();
        }
    }

    private Guid[] Dequeue(int max)
    {
        var ids = new Guid[Math.Min(max, _handedOff.Count)];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = _handedOff.Dequeue();
        }
        return ids;
    }
}
