namespace MailApi.Telemetry;

/// <summary>The <c>Metrics</c> section.</summary>
public sealed class MetricsOptions
{
    public const string Section = "Metrics";

    /// <summary>How often the queue-depth gauges are read from the store; a scrape reads the last values and touches no table.</summary>
    public TimeSpan QueueDepthInterval { get; set; } = TimeSpan.FromSeconds(5);
}
