using Hangfire;

namespace MailApi.Delivery;

/// <summary>Delivery jobs in Hangfire; each carries the message id only.</summary>
public sealed class HangfireDeliveryQueue(IBackgroundJobClient jobs) : IDeliveryQueue
{
    public void Enqueue(Guid messageId) =>
        jobs.Enqueue<DeliveryJob>(job => job.RunAsync(messageId, CancellationToken.None));

    /// <remarks>Hangfire keeps schedules in whole seconds, truncated: rounding up keeps a job from running before its time.</remarks>
    public void Schedule(Guid messageId, DateTimeOffset at) =>
        jobs.Schedule<DeliveryJob>(job => job.RunAsync(messageId, CancellationToken.None), RoundUpToSecond(at));

    private static DateTimeOffset RoundUpToSecond(DateTimeOffset at) =>
        at.Ticks % TimeSpan.TicksPerSecond == 0 ? at : new DateTimeOffset(at.Ticks - at.Ticks % TimeSpan.TicksPerSecond + TimeSpan.TicksPerSecond, at.Offset);
}
