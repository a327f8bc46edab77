using Hangfire.States;
using Hangfire.Storage;

namespace MailApi.Delivery;

/// <summary>
/// Tells <see cref="BusyWorkers"/> of every Hangfire job that enters the queue here (made enqueued, a due schedule or retry,
/// one put back) and of every one that leaves it here (started, or deleted), whatever its kind. Hangfire applies a state in
/// the transaction that stores it, so a job is counted before any worker can fetch it.
/// </summary>
public sealed class WaitingJobsFilter(BusyWorkers busyWorkers) : IApplyStateFilter
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
            busyWorkers.JobStarted();
        }
    }
}
