using Microsoft.Extensions.Options;

namespace MailApi.Webhooks;

/// <summary>
/// Re-queues what a crash can lose: pending deliveries well past their time (the instance died between storing and
/// queueing, or during the try), and events whose dispatch job was never queued (died right after the message's write).
/// Duplicates are harmless: the job claims each try, and a dispatch creates each delivery once.
/// </summary>
/// <remarks>
/// Events are looked for among messages updated in the last ten sweep intervals, and in the last hour on the first sweep
/// after a start, so even a restart after every instance stopped finds them.
/// </remarks>
public sealed class WebhookSweeper(IWebhookStore store, IWebhookQueue queue, IOptionsMonitor<WebhookOptions> options, TimeProvider clock,
    ILogger<WebhookSweeper> logger) : BackgroundService
{
    private const int MaxPerSweep = 1000;

    private static readonly TimeSpan FirstLookback = TimeSpan.FromHours(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lookback = FirstLookback;
        while (!stoppingToken.IsCancellationRequested)
        {
            var interval = options.CurrentValue.SweepInterval;
            try
            {
                await Task.Delay(interval, clock, stoppingToken);
                var now = clock.GetUtcNow();
                var undispatched = await store.FindUndispatchedAsync(now - lookback, now - interval, MaxPerSweep, stoppingToken);
                if (undispatched.Count > 0)
                {
                    await queue.DispatchAsync(undispatched);
                    logger.LogWarning("Re-queued the webhook dispatch of {Count} message(s) whose dispatch job may have been lost", undispatched.Count);
                }
                lookback = interval * 10;
                var due = await store.FindDueDeliveriesAsync(now - interval, MaxPerSweep, stoppingToken);
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
