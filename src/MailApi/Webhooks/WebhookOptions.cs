namespace MailApi.Webhooks;

/// <summary>Webhook deliveries (section <c>Webhooks</c>).</summary>
public sealed class WebhookOptions
{
    public const string Section = "Webhooks";

    /// <summary>The default schedule: a receiver down for a day still gets every event.</summary>
    public static readonly TimeSpan[] DefaultRetryDelays =
    [
        TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2), TimeSpan.FromHours(5),
        TimeSpan.FromHours(10), TimeSpan.FromHours(14), TimeSpan.FromHours(20), TimeSpan.FromHours(24),
    ];

    /// <summary>Plain-http endpoint urls are accepted (signatures still hold, but the body travels in the clear).</summary>
    public bool AllowHttp { get; set; }

    /// <summary>Urls whose host is or resolves to a loopback, private, link-local, unique-local or multicast address are
    /// accepted (on in Development; elsewhere such a url would let any API key reach the service's own network).</summary>
    public bool AllowPrivateTargets { get; set; }

    /// <summary>How long one try waits for the receiver's answer.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Delay before each retry; after the last one the delivery is <c>failed</c>.</summary>
    public TimeSpan[] RetryDelays { get; set; } = [];

    /// <summary>After a rotation, how long the old secret still signs beside the new one.</summary>
    public TimeSpan SecretOverlap { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The longest <c>Retry-After</c> honoured; a longer one waits this long.</summary>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How often deliveries whose job may be lost (a crash between storing and queueing) are looked for.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(30);

    public IReadOnlyList<TimeSpan> EffectiveRetryDelays => RetryDelays.Length > 0 ? RetryDelays : DefaultRetryDelays;
}
