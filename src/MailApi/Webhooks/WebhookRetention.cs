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
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var retention = options.CurrentValue;
            try
            {
                var deleted = await store.PurgeDeliveriesAsync(clock.GetUtcNow() - retention.DeleteAfter, stoppingToken);
                if (deleted > 0)
                {
                    logger.LogInformation("Retention deleted {Count} finished webhook deliveries", deleted);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "Webhook delivery retention failed; trying again in {Interval}", retention.Interval);
            }
            try
            {
                await Task.Delay(retention.Interval, clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
