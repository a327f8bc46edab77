using Microsoft.Extensions.Options;

namespace MailApi.Delivery;

/// <summary>
/// The delivery jobs running on this instance, and the due messages handed to them while every worker runs one. A new
/// job then would only wait in Hangfire's queue for a worker to come free, at the cost of Hangfire's statements and
/// commits; instead each running job takes the handed-off messages after its own, before it ends, in the order they came.
/// A handed-off message is already stored <c>queued</c>: should this instance stop before a job takes it, the last job to
/// leave gives it a job of its own, and after a crash the orphan sweep finds it.
/// </summary>
public sealed class BusyWorkers(IOptions<DeliveryOptions> options)
{
    private readonly Lock _gate = new();
    private readonly Queue<Guid> _handedOff = new();
    private int _running;
    private int _unstarted;

    /// <summary>
    /// Delivery jobs are being enqueued (negative: their enqueueing failed). Until they start, nothing is handed off, so
    /// they never wait behind a stream of handed-off messages. On a database shared by instances another instance may run
    /// them: the count is a floor at zero taken down by every job that starts here, and while it stays above zero this
    /// instance only makes jobs, as it would without hand-offs.
    /// </summary>
    public void Enqueued(int jobs)
    {
        lock (_gate)
        {
            _unstarted = Math.Max(0, _unstarted + jobs);
        }
    }

    /// <summary>A delivery job starts.</summary>
    public void Enter()
    {
        lock (_gate)
        {
            _running++;
            _unstarted = Math.Max(0, _unstarted - 1);
        }
    }

    /// <summary>
    /// True, and the messages are the running jobs' to take, when every worker runs a delivery job and no enqueued job
    /// waits for one. False when a worker is free (or busy with other work), so a job of their own starts soon; and false
    /// while an enqueued job waits, so the messages queue behind it in Hangfire, in turn: the running jobs take only what
    /// was handed off before, then leave their workers to the waiting jobs.
    /// </summary>
    public bool TryHandOff(IReadOnlyList<Guid> messageIds)
    {
        lock (_gate)
        {
            if (_unstarted > 0 || _running < options.Value.Workers)
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
    /// For a job done with its own messages: up to <paramref name="max"/> handed-off ones to deliver next, or none, and
    /// then the job has left (it is no longer counted, and must not take more).
    /// </summary>
    public Guid[] TakeOrLeave(int max)
    {
        lock (_gate)
        {
            if (_handedOff.Count == 0)
            {
                _running--;
                return [];
            }
            return Dequeue(max);
        }
    }

    /// <summary>
    /// A job leaves without taking more (shutdown, or a fault). The last job to leave gets whatever is still handed off, to
    /// give it jobs of its own; while any job runs, that one takes them.
    /// </summary>
    public Guid[] Leave()
    {
        lock (_gate)
        {
            _running--;
            return _running == 0 ? Dequeue(_handedOff.Count) : [];
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
