using Microsoft.Extensions.Options;

namespace MailApi.Webhooks;

/// <summary>
/// Re-queues pending deliveries well past their time: their job was lost (a crash between storing and queueing, or a
/// killed instance). A duplicate job is harmless (<see cref="WebhookDeliveryJob"/> claims each try).
/// </summary>
public sealed class WebhookSweeper(IWebhookStore store, IWebhookQueue queue, IOptionsMonitor<WebhookOptions> options, TimeProvider clock,
    ILogger<WebhookSweeper> logger) : BackgroundService
{
    private const int MaxPerSweep = 1000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var interval = options.CurrentValue.SweepInterval;
            try
            {
                await Task.Delay(interval, clock, stoppingToken);
                var due = await store.FindDueDeliveriesAsync(clock.GetUtcNow() - interval, MaxPerSweep, stoppingToken);
                foreach (var id in due)
                {
                    queue.Enqueue(id);
                }
                if (due.Count > 0)
                {
                    logger.LogWarning("Re-queued {Count} webhook deliveries whose job may have been lost", due.Count);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Webhook sweep failed; trying again");
            }
        }
    }
}
