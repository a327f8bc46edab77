using Hangfire;
using Hangfire.States;
using MailApi.Storage;
using Microsoft.Extensions.Options;

namespace MailApi.Delivery;

/// <summary>Delivery jobs in Hangfire; each carries the message id only.</summary>
/// <remarks>
/// The hop from the request to the job is the lambda below: "find references" on <see cref="DeliveryJob.RunAsync"/>
/// lands here. Hangfire passes its own token for <see cref="CancellationToken.None"/> when it runs the job.
/// </remarks>
public sealed class HangfireDeliveryQueue(IBackgroundJobClient jobs, IOptions<DeliveryOptions> delivery, IOptions<StorageOptions> storage) : IDeliveryQueue
{
    public void Enqueue(Guid messageId) => Enqueue([messageId]);

    public void Enqueue(IReadOnlyList<Guid> messageIds) => CreateJobs(messageIds, () => new EnqueuedState());

    public void Schedule(Guid messageId, DateTimeOffset at) => Schedule([messageId], at);

    /// <remarks>Hangfire keeps schedules in whole seconds, truncated: rounding up keeps a job from running before its time.</remarks>
    public void Schedule(IReadOnlyList<Guid> messageIds, DateTimeOffset at) =>
        CreateJobs(messageIds, () => new ScheduledState(RoundUpToSecond(at).UtcDateTime));

    /// <summary>One job per <see cref="DeliveryOptions.EffectiveMessagesPerJob"/> of the messages, in the state <paramref name="state"/> makes (a single message as RunAsync).</summary>
    private void CreateJobs(IReadOnlyList<Guid> messageIds, Func<IState> state)
    {
        foreach (var chunk in messageIds.Chunk(delivery.Value.EffectiveMessagesPerJob(storage.Value.Provider)))
        {
            if (chunk.Length == 1)
            {
                var id = chunk[0];
                jobs.Create<DeliveryJob>(job => job.RunAsync(id, CancellationToken.None), state());
            }
            else
            {
                jobs.Create<DeliveryJob>(job => job.RunManyAsync(chunk, CancellationToken.None), state());
            }
        }
    }

    private static DateTimeOffset RoundUpToSecond(DateTimeOffset at) =>
        at.Ticks % TimeSpan.TicksPerSecond == 0 ? at : new DateTimeOffset(at.Ticks - at.Ticks % TimeSpan.TicksPerSecond + TimeSpan.TicksPerSecond, at.Offset);
}
