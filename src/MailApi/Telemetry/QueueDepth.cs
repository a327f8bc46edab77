using System.Diagnostics.Metrics;
using MailApi.Housekeeping;
using MailApi.Storage;
using MailApi.Webhooks;
using Microsoft.Extensions.Options;

namespace MailApi.Telemetry;

/// <summary>
/// The queue-depth gauges' values: messages per unfinished status and pending webhook deliveries, counted by the store
/// every <see cref="MetricsOptions.QueueDepthInterval"/>. A scrape reads the last counts, so however often Prometheus
/// scrapes (and however many scrapers there are) the database sees one count per interval per instance.
/// </summary>
public sealed class QueueDepth : BackgroundService
{
    private readonly IMessageStore _messages;
    private readonly IWebhookStore _webhooks;
    private readonly IOptionsMonitor<MetricsOptions> _options;
    private readonly TimeProvider _clock;
    private readonly ILogger<QueueDepth> _logger;
    private volatile Counts? _last;

    public QueueDepth(IMeterFactory meters, IMessageStore messages, IWebhookStore webhooks, IOptionsMonitor<MetricsOptions> options,
        TimeProvider clock, ILogger<QueueDepth> logger)
    {
        (_messages, _webhooks, _options, _clock, _logger) = (messages, webhooks, options, clock, logger);
        var meter = meters.Create(MailApiMetrics.MeterName);
        meter.CreateObservableGauge("mailapi.messages.pending", Messages, "{message}",
            "Messages not yet final, by status (scheduled, queued, sending, deferred); counted every Metrics:QueueDepthInterval.");
        meter.CreateObservableGauge("mailapi.webhook.pending", Webhooks, "{delivery}",
            "Webhook deliveries waiting for a try or in one; counted every Metrics:QueueDepthInterval.");
    }

    /// <summary>The last counts of messages, one measurement per unfinished status; none before the first count.</summary>
    public IEnumerable<Measurement<long>> Messages()
    {
        if (_last is not { } last)
        {
            yield break;
        }
        foreach (var (status, count) in last.Messages)
        {
            yield return new Measurement<long>(count, new KeyValuePair<string, object?>("status", status.Name()));
        }
    }

    /// <summary>The last count of pending webhook deliveries; none before the first count.</summary>
    public IEnumerable<Measurement<long>> Webhooks()
    {
        if (_last is { } last)
        {
            yield return new Measurement<long>(last.Webhooks);
        }
    }

    /// <summary>Counts now; the loop calls it every interval.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var byStatus = await _messages.CountPendingAsync(cancellationToken);
        var pendingWebhooks = await _webhooks.CountPendingDeliveriesAsync(cancellationToken);
        _last = new Counts(byStatus, pendingWebhooks);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Periodic.RunAsync(RefreshAsync, () => _options.CurrentValue.QueueDepthInterval, "Counting the queue depth for /metrics", _clock, _logger, stoppingToken);

    private sealed record Counts(IReadOnlyDictionary<MessageStatus, long> Messages, long Webhooks);
}
