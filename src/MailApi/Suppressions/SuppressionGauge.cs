using System.Diagnostics.Metrics;
using MailApi.Housekeeping;
using MailApi.Telemetry;
using Microsoft.Extensions.Options;

namespace MailApi.Suppressions;

/// <summary>
/// The <c>mailapi_suppressions{reason}</c> gauge: live entries over every key, counted by the store every
/// <see cref="MetricsOptions.QueueDepthInterval"/> like the queue depth, so scrapes never count a table themselves.
/// </summary>
public sealed class SuppressionGauge : BackgroundService
{
    private readonly ISuppressionStore _store;
    private readonly IOptionsMonitor<MetricsOptions> _options;
    private readonly TimeProvider _clock;
    private readonly ILogger<SuppressionGauge> _logger;
    private volatile IReadOnlyDictionary<SuppressionReason, long>? _last;

    public SuppressionGauge(IMeterFactory meters, ISuppressionStore store, IOptionsMonitor<MetricsOptions> options, TimeProvider clock,
        ILogger<SuppressionGauge> logger)
    {
        (_store, _options, _clock, _logger) = (store, options, clock, logger);
        meters.Create(MailApiMetrics.MeterName).CreateObservableGauge("mailapi.suppressions", Measure, "{address}",
            "Addresses on the suppression lists of every key that still suppress, by reason; counted every Metrics:QueueDepthInterval.");
    }

    /// <summary>Every reason's last count (zero included); none before the first count.</summary>
    public IEnumerable<Measurement<long>> Measure()
    {
        if (_last is not { } last)
        {
            yield break;
        }
        foreach (var reason in Enum.GetValues<SuppressionReason>())
        {
            yield return new Measurement<long>(last.GetValueOrDefault(reason), new KeyValuePair<string, object?>("reason", reason.Name()));
        }
    }

    public async Task RefreshAsync(CancellationToken cancellationToken) => _last = await _store.CountAsync(_clock.GetUtcNow(), cancellationToken);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Periodic.RunAsync(RefreshAsync, () => _options.CurrentValue.QueueDepthInterval, "Counting the suppression lists for /metrics", _clock, _logger,
            stoppingToken);
}
