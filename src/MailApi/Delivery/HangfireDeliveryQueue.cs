using Hangfire;
using Hangfire.States;
using MailApi.Storage;
using Microsoft.Extensions.Options;

namespace MailApi.Delivery;

/// <summary>Delivery jobs in Hangfire; each carries message ids only.</summary>
/// <remarks>
/// The hop from the request to the job is the lambdas below: "find references" on <see cref="DeliveryJob.RunAsync"/>
/// and <see cref="DeliveryJob.RunManyAsync"/> lands here. Hangfire passes its own token for
/// <see cref="CancellationToken.None"/> when it runs the job.
/// </remarks>
public sealed class HangfireDeliveryQueue(IBackgroundJobClient jobs, BusyWorkers busyWorkers, IOptions<DeliveryOptions> delivery, IOptions<StorageOptions> storage)
    : IDeliveryQueue
{
    private readonly GroupCommit _requests = new((ids, at) => CreateJobs(jobs, delivery.Value.EffectiveMessagesPerJob(storage.Value.Provider), ids, at));

    public void Schedule(Guid messageId, DateTimeOffset at) => CreateJobs(jobs, 1, [messageId], HangfireSchedule.RoundUpToSecond(at));

    /// <remarks>
    /// While every worker is spoken for, a new job would only wait for one of them: the messages are handed to the
    /// running delivery jobs instead (<see cref="BusyWorkers"/>), and no job is made.
    /// </remarks>
    public Task EnqueueAsync(IReadOnlyList<Guid> messageIds) =>
        busyWorkers.TryHandOff(messageIds) ? Task.CompletedTask : _requests.AddAsync(messageIds, null);

    public Task ScheduleAsync(IReadOnlyList<Guid> messageIds, DateTimeOffset at) => _requests.AddAsync(messageIds, HangfireSchedule.RoundUpToSecond(at));

    /// <summary>
    /// One job per <paramref name="perJob"/> of the messages, enqueued or scheduled at <paramref name="at"/> (a single message
    /// as RunAsync).
    /// </summary>
    private static void CreateJobs(IBackgroundJobClient jobs, int perJob, IReadOnlyList<Guid> messageIds, DateTime? at)
    {
        foreach (var chunk in messageIds.Chunk(perJob))
        {
            IState state = at is { } time ? new ScheduledState(time) : new EnqueuedState();
            if (chunk.Length == 1)
            {
                var id = chunk[0];
                jobs.Create<DeliveryJob>(job => job.RunAsync(id, CancellationToken.None), state);
            }
            else
            {
                jobs.Create<DeliveryJob>(job => job.RunManyAsync(chunk, CancellationToken.None), state);
            }
        }
    }
}
