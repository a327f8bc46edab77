using System.Reflection;
using Hangfire;
using Hangfire.Common;
using Hangfire.States;

namespace MailApi.Delivery;

/// <summary>Delivery jobs in Hangfire; each carries the message id only.</summary>
/// <remarks>
/// The job is built directly, not from a lambda (<c>jobs.Enqueue&lt;DeliveryJob&gt;(job =&gt; job.RunAsync(id, …))</c>):
/// that builds and evaluates an expression tree on every call, one per POST. The job is the same one
/// <c>Job.FromExpression</c> makes: type <see cref="DeliveryJob"/>, method <see cref="DeliveryJob.RunAsync"/>, the id and
/// <see cref="CancellationToken.None"/> (Hangfire passes its own token when it runs the job), no queue.
/// </remarks>
public sealed class HangfireDeliveryQueue(IBackgroundJobClient jobs) : IDeliveryQueue
{
    internal static readonly MethodInfo RunAsync = typeof(DeliveryJob).GetMethod(nameof(DeliveryJob.RunAsync), [typeof(Guid), typeof(CancellationToken)])
        ?? throw new MissingMethodException(nameof(DeliveryJob), nameof(DeliveryJob.RunAsync));

    private static readonly object NoCancellation = CancellationToken.None;

    public void Enqueue(Guid messageId) => jobs.Create(JobFor(messageId), new EnqueuedState());

    /// <remarks>Hangfire keeps schedules in whole seconds, truncated: rounding up keeps a job from running before its time.</remarks>
    public void Schedule(Guid messageId, DateTimeOffset at) =>
        jobs.Create(JobFor(messageId), new ScheduledState(RoundUpToSecond(at).UtcDateTime));

    internal static Job JobFor(Guid messageId) => new(typeof(DeliveryJob), RunAsync, [messageId, NoCancellation]);

    private static DateTimeOffset RoundUpToSecond(DateTimeOffset at) =>
        at.Ticks % TimeSpan.TicksPerSecond == 0 ? at : new DateTimeOffset(at.Ticks - at.Ticks % TimeSpan.TicksPerSecond + TimeSpan.TicksPerSecond, at.Offset);
}
