using Hangfire.Server;
using Hangfire.States;
using Hangfire.Storage;

namespace MailApi.Delivery;

/// <summary>
/// Tells <see cref="BusyWorkers"/> of every Hangfire job, whatever its kind, that enters the queue here (made enqueued, a
/// due schedule or retry, one put back) or leaves it here (started, or deleted), and of every job this instance's workers
/// perform. Hangfire applies a state in the transaction that stores it, so a job is counted before any worker can fetch it.
/// </summary>
public sealed class WorkerCountsFilter(BusyWorkers busyWorkers) : IApplyStateFilter, IServerFilter
{
    public void OnStateApplied(ApplyStateContext context, IWriteOnlyTransaction transaction)
    {
        if (context.NewState is EnqueuedState)
        {
            busyWorkers.JobEnqueued();
        }
    }

    public void OnStateUnapplied(ApplyStateContext context, IWriteOnlyTransaction transaction)
    {
        if (context.OldStateName == EnqueuedState.StateName)
        {
            busyWorkers.JobLeftQueue();
        }
    }

    public void OnPerforming(PerformingContext context) => busyWorkers.WorkerTaken();

    public void OnPerformed(PerformedContext context) => busyWorkers.WorkerFreed();
}
