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
public sealed class HangfireDeliveryQueue : IDeliveryQueue, IDisposable
{
    private readonly IBackgroundJobClient _jobs;
    private readonly BusyWorkers _busyWorkers;
    private readonly ILogger<HangfireDeliveryQueue> _logger;
    private readonly GroupCommit _requests;
    private readonly ITimer _overdue;
    private int _watching;

    public HangfireDeliveryQueue(IBackgroundJobClient jobs, BusyWorkers busyWorkers, IOptions<DeliveryOptions> delivery,
        IOptions<StorageOptions> storage, TimeProvider clock, ILogger<HangfireDeliveryQueue> logger)
    {
        _jobs = jobs;
        _busyWorkers = busyWorkers;
        _logger = logger;
        _requests = new GroupCommit((ids, at) => CreateJobs(jobs, delivery.Value.EffectiveMessagesPerJob(storage.Value.Provider), ids, at));
        _overdue = clock.CreateTimer(_ => _ = GiveOverdueJobsAsync(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public void Schedule(Guid messageId, DateTimeOffset at) => CreateJobs(_jobs, 1, [messageId], HangfireSchedule.RoundUpToSecond(at));

    /// <remarks>
    /// While a delivery job runs and will take them soon, the messages are handed to the running delivery jobs instead
    /// (<see cref="BusyWorkers"/>), and no job is made; those still waiting after <see cref="BusyWorkers.Patience"/> while
    /// a worker is free get a job of their own.
    /// </remarks>
    public Task EnqueueAsync(IReadOnlyList<Guid> messageIds)
    {
        if (!_busyWorkers.TryHandOff(messageIds))
        {
            return _requests.AddAsync(messageIds, null);
        }
        Watch();
        return Task.CompletedTask;
    }

    public Task ScheduleAsync(IReadOnlyList<Guid> messageIds, DateTimeOffset at) => _requests.AddAsync(messageIds, HangfireSchedule.RoundUpToSecond(at));

    public void Dispose() => _overdue.Dispose();

    /// <summary>Looks for overdue hand-offs every half <see cref="BusyWorkers.Patience"/> while any message is handed off.</summary>
    private void Watch()
    {
        if (Interlocked.Exchange(ref _watching, 1) == 0)
        {
            _overdue.Change(BusyWorkers.Patience / 2, Timeout.InfiniteTimeSpan);
        }
    }

    private async Task GiveOverdueJobsAsync()
    {
        var overdue = _busyWorkers.TakeOverdue();
        Volatile.Write(ref _watching, 0);
        if (_busyWorkers.AnyHandedOff)
        {
            Watch();
        }
        if (overdue.Length == 0)
        {
            return;
        }
        try
        {
            await _requests.AddAsync(overdue, null);
        }
        catch (Exception ex)
        {
            _logger.LogWarning("{Count} handed-off message(s) got no job of their own ({Error}); the orphan sweep queues them", overdue.Length, ex.Message);
        }
    }

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
