using MailApi.Housekeeping;
using Microsoft.Extensions.Options;

namespace MailApi.Webhooks;

/// <summary>
/// The delivery log is kept as long as messages are (<c>Retention:DeleteAfter</c>, counted from the delivery's creation):
/// finished deliveries older than that are deleted on the <c>Retention:Interval</c> schedule; pending ones stay.
/// </summary>
public sealed class WebhookRetention(IWebhookStore store, IOptionsMonitor<RetentionOptions> options, TimeProvider clock, ILogger<WebhookRetention> logger)
    : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Periodic.RunAsync(async cancellationToken =>
        {
            var deleted = await store.PurgeDeliveriesAsync(clock.GetUtcNow() - options.CurrentValue.DeleteAfter, cancellationToken);
            if (deleted > 0)
            {
                logger.LogInformation("Retention deleted {Count} finished webhook deliveries", deleted);
            }
        }, () => options.CurrentValue.Interval, "Webhook delivery retention", clock, logger, stoppingToken);
}
