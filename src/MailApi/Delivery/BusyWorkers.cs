using Microsoft.Extensions.Options;

namespace MailApi.Delivery;

/// <summary>
/// This instance's workers: how many perform a job, the Hangfire jobs waiting for one, the delivery jobs running, and the due
/// messages handed to those jobs instead of a Hangfire job of their own. Each running delivery job takes the handed-off
/// messages after its own, in the order they came, so a steady stream of requests keeps a few jobs busy rather than making
/// a job each (a job costs Hangfire about 37 statements and 15 commits on PostgreSQL, and 14 KB in memory). A handed-off
/// message is already stored <c>queued</c>: should this instance stop before a job takes it, the last job to leave gives
/// it a job of its own, and after a crash the orphan sweep finds it.
/// </summary>
/// <remarks>
/// <para>
/// Messages are handed off while a delivery job runs and either every worker is spoken for (a job of their own would only
/// wait for one), or fewer than <see cref="DeliveryJob.TakeAtOnce"/> a running job wait handed off (one take each). Beyond
/// that a request's messages get a job, which a free worker starts, and which takes hand-offs in its turn.
/// </para>
/// <para>
/// No message waits long behind a slow dialogue while a worker is free: one handed off for <see cref="Patience"/> is taken
/// back (<see cref="TakeOverdue"/>) for a job of its own. No job waits behind the hand-offs: while a Hangfire job of any
/// kind (a delivery job, a webhook, a due retry) waits and every worker is busy, one running delivery job leaves its
/// worker to it instead of taking more (one for each waiting job); what it leaves is taken by the jobs still running, or
/// given jobs of their own by the last to leave. The counts are fed by <see cref="WorkerCountsFilter"/>.
/// </para>
/// </remarks>
public sealed class BusyWorkers(IOptions<DeliveryOptions> options, TimeProvider clock)
{
    /// <summary>
    /// A job counted as waiting that has not left the queue here for this long is taken to have started on another instance
    /// on the same database (its start is seen there, not here), and is no longer counted.
    /// </summary>
    public static readonly TimeSpan Forgotten = TimeSpan.FromSeconds(30);

    private readonly Lock _gate = new();
    /// <summary>
    /// How long a handed-off message may wait for a running job while a worker is free before it is taken back for a job of
    /// its own: longer than a busy job's next take (a few dialogues), shorter than a new job's start on PostgreSQL (its
    /// queue is polled every 500 ms).
    /// </summary>
    public static readonly TimeSpan Patience = TimeSpan.FromMilliseconds(250);

    private readonly Queue<(Guid Id, DateTimeOffset At)> _handedOff = new();
    private readonly Queue<DateTimeOffset> _waiting = new();
    private int _busy;
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
    public void JobLeftQueue()
    {
        lock (_gate)
        {
            _waiting.TryDequeue(out _);
            _yielded = Math.Max(0, _yielded - 1);
        }
    }

    /// <summary>A worker of this instance starts performing a job (of any kind).</summary>
    public void WorkerTaken()
    {
        lock (_gate)
        {
            _busy++;
        }
    }

    /// <summary>A worker of this instance is done performing its job.</summary>
    public void WorkerFreed()
    {
        lock (_gate)
        {
            _busy = Math.Max(0, _busy - 1);
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
    /// True, and the messages are the running delivery jobs' to take, when one runs and either every worker is spoken for
    /// (each performs a job, or a waiting job is about to start in it) or fewer than <see cref="DeliveryJob.TakeAtOnce"/> a
    /// running job are handed off already. False when the messages should have a job of their own.
    /// </summary>
    public bool TryHandOff(IReadOnlyList<Guid> messageIds)
    {
        lock (_gate)
        {
            ForgetStale();
            if (_running == 0 || (!EveryWorkerSpokenFor() && _handedOff.Count >= _running * DeliveryJob.TakeAtOnce))
            {
                return false;
            }
            var now = clock.GetUtcNow();
            foreach (var id in messageIds)
            {
                _handedOff.Enqueue((id, now));
            }
            return true;
        }
    }

    /// <summary>
    /// The handed-off messages that have waited <see cref="Patience"/> or longer, taken back for a job of their own, while a
    /// worker is free to run it (the running jobs are slow: a relay that takes its time, say). Empty while every worker is
    /// spoken for, since a new job would only wait too.
    /// </summary>
    public Guid[] TakeOverdue()
    {
        lock (_gate)
        {
            ForgetStale();
            if (EveryWorkerSpokenFor())
            {
                return [];
            }
            var due = clock.GetUtcNow() - Patience;
            var count = 0;
            foreach (var (_, at) in _handedOff)
            {
                if (at > due)
                {
                    break;
                }
                count++;
            }
            return Dequeue(count);
        }
    }

    /// <summary>Whether any message waits handed off.</summary>
    public bool AnyHandedOff
    {
        get
        {
            lock (_gate)
            {
                return _handedOff.Count > 0;
            }
        }
    }

    /// <summary>
    /// For a delivery job done with its own messages: up to <paramref name="max"/> handed-off ones to deliver next. False
    /// when none is left, or when a job waits while every worker is busy and no other job has left its worker to it yet: the
    /// caller then leaves (<see cref="Leave"/>).
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
            if (_waiting.Count > _yielded && _busy >= options.Value.Workers)
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

    private bool EveryWorkerSpokenFor() => _busy + _waiting.Count >= options.Value.Workers;

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
            ids[i] = _handedOff.Dequeue().Id;
        }
        return ids;
    }
}
