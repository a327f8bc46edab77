using MailApi.Storage;
using Microsoft.Extensions.Options;

namespace MailApi.Housekeeping;

/// <summary>How long finished messages are kept (section <c>Retention</c>).</summary>
public sealed class RetentionOptions
{
    public const string Section = "Retention";

    /// <summary>After this long in a final status, bodies, attachments, custom headers and transcripts are dropped.</summary>
    public TimeSpan ContentAfter { get; set; } = TimeSpan.FromDays(7);

    /// <summary>After this long in a final status, the message's summary is deleted too.</summary>
    public TimeSpan DeleteAfter { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often the purge runs.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(10);
}

/// <summary>Purges finished messages on the <see cref="RetentionOptions"/> schedule: content first, summary later.</summary>
public sealed class RetentionService(
    IMessageStore store, IOptionsMonitor<RetentionOptions> options, TimeProvider clock, ILogger<RetentionService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var retention = options.CurrentValue;
            try
            {
                var now = clock.GetUtcNow();
                var changed = await store.PurgeAsync(now - retention.ContentAfter, now - retention.DeleteAfter, now, stoppingToken);
                if (changed > 0)
                {
                    logger.LogInformation("Retention purged {Count} finished message(s)", changed);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "Retention purge failed; trying again in {Interval}", retention.Interval);
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
