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
public sealed class HangfireDeliveryQueue(IBackgroundJobClient jobs, IOptions<DeliveryOptions> delivery, IOptions<StorageOptions> storage) : IDeliveryQueue
{
    private readonly Lock _gate = new();
    private List<Waiting> _waiting = [];
    private bool _creating;

    /// <summary>A request's messages waiting for a job, due (<paramref name="At"/> null) or at a whole UTC second.</summary>
    private sealed record Waiting(IReadOnlyList<Guid> MessageIds, DateTime? At, TaskCompletionSource Created);

    public void Enqueue(Guid messageId) => CreateJobs([messageId], null);

    public void Schedule(Guid messageId, DateTimeOffset at) => CreateJobs([messageId], RoundUpToSecond(at));

    public Task EnqueueAsync(IReadOnlyList<Guid> messageIds) => Gather(messageIds, null);

    public Task ScheduleAsync(IReadOnlyList<Guid> messageIds, DateTimeOffset at) => Gather(messageIds, RoundUpToSecond(at));

    /// <summary>
    /// Group commit: the first request with nobody creating jobs starts at once; those that come while jobs are being
    /// created wait for that to end and then share jobs, so under load a job carries several requests' messages and at
    /// light load nothing waits. Each request's task ends when the jobs holding its messages exist, or with their error.
    /// </summary>
    private Task Gather(IReadOnlyList<Guid> messageIds, DateTime? at)
    {
        var waiting = new Waiting(messageIds, at, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
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
                    CreateJobs(time.SelectMany(w => w.MessageIds).ToList(), time.Key);
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

    /// <summary>One job per <see cref="DeliveryOptions.EffectiveMessagesPerJob"/> of the messages, enqueued or scheduled at <paramref name="at"/> (a single message as RunAsync).</summary>
    private void CreateJobs(IReadOnlyList<Guid> messageIds, DateTime? at)
    {
        foreach (var chunk in messageIds.Chunk(delivery.Value.EffectiveMessagesPerJob(storage.Value.Provider)))
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

    /// <remarks>Hangfire keeps schedules in whole seconds, truncated: rounding up keeps a job from running before its time.</remarks>
    private static DateTime RoundUpToSecond(DateTimeOffset at)
    {
        var utc = at.UtcDateTime;
        return utc.Ticks % TimeSpan.TicksPerSecond == 0 ? utc : new DateTime(utc.Ticks - utc.Ticks % TimeSpan.TicksPerSecond + TimeSpan.TicksPerSecond, DateTimeKind.Utc);
    }
}
