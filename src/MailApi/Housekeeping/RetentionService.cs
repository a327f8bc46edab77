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

/// <summary>
/// Purges finished messages on the <see cref="RetentionOptions"/> schedule (content first, summary later), bounce
/// reports older than <c>Bounces:Retention</c>, and soft-bounce streaks gone stale (older than
/// <c>Suppressions:SoftBounceExpiry</c>, so the next soft bounce would start afresh anyway).
/// </summary>
public sealed class RetentionService(IMessageStore store, Bounces.IBounceStore reports, Suppressions.ISoftBounceStore streaks,
    IOptionsMonitor<RetentionOptions> options, IOptionsMonitor<Bounces.BounceOptions> bounces,
    IOptionsMonitor<Suppressions.SuppressionOptions> suppressions, TimeProvider clock, ILogger<RetentionService> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Periodic.RunAsync(async cancellationToken =>
        {
            var retention = options.CurrentValue;
            var now = clock.GetUtcNow();
            var changed = await store.PurgeAsync(now - retention.ContentAfter, now - retention.DeleteAfter, now, cancellationToken);
            if (changed > 0)
            {
                logger.LogInformation("Retention purged {Count} finished message(s)", changed);
            }
            if (await reports.PurgeAsync(now - bounces.CurrentValue.Retention, cancellationToken) is > 0 and var purged)
            {
                logger.LogInformation("Retention purged {Count} bounce report(s)", purged);
            }
            if (await streaks.PurgeAsync(now - suppressions.CurrentValue.SoftBounceExpiry, cancellationToken) is > 0 and var stale)
            {
                logger.LogInformation("Retention purged {Count} stale soft-bounce streak(s)", stale);
            }
        }, () => options.CurrentValue.Interval, "Retention purge", clock, logger, stoppingToken);
}
