using System.Threading.RateLimiting;
using MailApi.Delivery.Smtp;

namespace MailApi.Delivery.Relays;

/// <summary>
/// One configured relay while the service runs: its settings, its own connection pool, its rate of messages, and
/// whether it is paused after failing <see cref="RelayOptions.FailuresBeforePause"/> times in a row.
/// </summary>
public sealed class Relay : IAsyncDisposable
{
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly RateLimiter? _rate;
    private readonly Lock _gate = new();
    private int _failures;
    private DateTimeOffset? _pausedUntil;

    public Relay(RelayOptions options, SmtpPoolOptions pool, int workers, TimeProvider clock, ILoggerFactory loggers)
    {
        Options = options;
        _clock = clock;
        _logger = loggers.CreateLogger<Relay>();
        var connections = options.MaxConnections > 0 ? options.MaxConnections : pool.MaxConnections > 0 ? pool.MaxConnections : workers;
        Pool = new SmtpConnectionPool(options, pool, connections, clock, loggers.CreateLogger<SmtpConnectionPool>());
        _rate = options.MaxMessagesPerSecond > 0 ? RateOf(options.MaxMessagesPerSecond) : null;
    }

    public RelayOptions Options { get; }

    public string Name => Options.Upstream;

    public SmtpConnectionPool Pool { get; }

    /// <summary>Failures in a row since the last success or pause.</summary>
    public int ConsecutiveFailures
    {
        get { lock (_gate) { return _failures; } }
    }

    /// <summary>Until when the relay is skipped, or null when it is not paused.</summary>
    public DateTimeOffset? PausedUntil
    {
        get
        {
            lock (_gate)
            {
                return _pausedUntil > _clock.GetUtcNow() ? _pausedUntil : null;
            }
        }
    }

    /// <summary>
    /// Waits until this relay may take one more message under <see cref="RelayOptions.MaxMessagesPerSecond"/>: over the
    /// rate a message waits its turn (oldest first); it neither fails nor counts as an attempt.
    /// </summary>
    public async ValueTask WaitForTurnAsync(CancellationToken cancellationToken)
    {
        if (_rate is null)
        {
            return;
        }
        using var lease = await _rate.AcquireAsync(1, cancellationToken);
        if (!lease.IsAcquired)
        {
            throw new InvalidOperationException($"The rate limiter of relay {Name} refused a message; its queue is unbounded.");
        }
    }

    /// <summary>
    /// Counts how a dialogue with the relay ended: a success clears the count of failures; the
    /// <see cref="RelayOptions.FailuresBeforePause"/>th failure in a row pauses the relay for <see cref="RelayOptions.Pause"/>.
    /// </summary>
    public void Record(bool failed)
    {
        lock (_gate)
        {
            if (!failed)
            {
                _failures = 0;
                return;
            }
            if (++_failures < Options.FailuresBeforePause)
            {
                return;
            }
            _failures = 0;
            _pausedUntil = _clock.GetUtcNow() + Options.Pause;
        }
        _logger.LogWarning("Relay {Relay} failed {Failures} times in a row; it is skipped for {Pause} ({Key}:Pause)",
            Name, Options.FailuresBeforePause, Options.Pause, Options.Key);
    }

    public async ValueTask DisposeAsync()
    {
        await Pool.DisposeAsync();
        _rate?.Dispose();
    }

    /// <summary>
    /// A token bucket refilled at most 20 times a second, holding no more than one refill: messages leave evenly spaced
    /// rather than in a burst at the start of each second.
    /// </summary>
    private static TokenBucketRateLimiter RateOf(int perSecond)
    {
        var perRefill = Math.Max(1, perSecond / 20);
        return new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = perRefill,
            TokensPerPeriod = perRefill,
            ReplenishmentPeriod = TimeSpan.FromSeconds((double)perRefill / perSecond),
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        });
    }
}
