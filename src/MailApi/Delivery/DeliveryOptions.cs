using MailApi.Storage;

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

    /// <summary>
    /// How many messages of one batch request one job delivers, in turn over one relay connection; unset, it depends on the
    /// storage. In memory a job costs next to nothing, so a batch of 100 is spread over 10 jobs and as many workers. On
    /// PostgreSQL each job costs Hangfire's statements and a share of its locking, so the whole batch is one job.
    /// </summary>
    public int? MessagesPerJob { get; set; }

    public const int MessagesPerJobInMemory = 10;
    public const int MessagesPerJobOnPostgreSql = 100;

    public int EffectiveMessagesPerJob(StorageProvider storage) =>
        MessagesPerJob ?? (storage == StorageProvider.PostgreSql ? MessagesPerJobOnPostgreSql : MessagesPerJobInMemory);

    public IReadOnlyList<TimeSpan> EffectiveRetryDelays => RetryDelays.Length > 0 ? RetryDelays : DefaultRetryDelays;
}
