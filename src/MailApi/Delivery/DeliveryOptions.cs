namespace MailApi.Delivery;

/// <summary>Retry schedule and workers (section <c>Delivery</c>).</summary>
public sealed class DeliveryOptions
{
    public const string Section = "Delivery";

    /// <summary>The default schedule when none is configured.</summary>
    public static readonly TimeSpan[] DefaultRetryDelays =
        [TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15), TimeSpan.FromHours(1), TimeSpan.FromHours(4)];

    /// <summary>Delay before each retry; after the last one a still-deferred message fails.</summary>
    public TimeSpan[] RetryDelays { get; set; } = [];

    /// <summary>A message still not delivered this long after it was created fails instead of being retried.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Hangfire workers running SMTP dialogues in parallel.</summary>
    public int Workers { get; set; } = 10;

    /// <summary>How often scheduled retries are looked for; the default keeps retries within a second of their time.</summary>
    public TimeSpan SchedulePollingInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often this instance says it is alive.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>An instance silent this long is taken for dead: the messages it was sending are taken over.</summary>
    public TimeSpan InstanceTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often messages whose job may be lost are looked for (and how late a message must be to count).</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(30);

    public IReadOnlyList<TimeSpan> EffectiveRetryDelays => RetryDelays.Length > 0 ? RetryDelays : DefaultRetryDelays;
}
