using Hangfire;

namespace MailApi.Delivery;

/// <summary>Delivery jobs in Hangfire; each carries the message id only.</summary>
public sealed class HangfireDeliveryQueue(IBackgroundJobClient jobs) : IDeliveryQueue
{
    public void Enqueue(Guid messageId) =>
        jobs.Enqueue<DeliveryJob>(job => job.RunAsync(messageId, CancellationToken.None));

    public void Schedule(Guid messageId, DateTimeOffset at) =>
        jobs.Schedule<DeliveryJob>(job => job.RunAsync(messageId, CancellationToken.None), at);
}
