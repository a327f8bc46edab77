using System.Threading.RateLimiting;
using MailApi.Delivery.Relays;

namespace MailApi.Delivery.Smtp;

/// <summary>
/// Open connections to one relay, handed to one worker at a time (<see cref="RentAsync"/>, <see cref="ReturnAsync"/>).
/// The most recently used idle connection goes out first, so under light load a few connections stay warm and the
/// rest idle out; an idle connection says QUIT after <see cref="SmtpPoolOptions.IdleTimeout"/>, before the relay would
/// time it out. At most <c>maxConnections</c> connections exist at once: a worker beyond that waits its turn.
/// </summary>
public sealed class SmtpConnectionPool : IAsyncDisposable
{
    private readonly RelayOptions _relay;
    private readonly SmtpPoolOptions _pool;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly ConcurrencyLimiter _slots;
    private readonly Lock _gate = new();
    // Idle connections, the most recently returned last (a stack): the oldest idle out first.
    private readonly List<PooledConnection> _idle = [];
    private readonly ITimer _reaper;
    private readonly string _idPrefix = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()))[..6];
    private long _opened;
    private bool _disposed;

    public SmtpConnectionPool(RelayOptions relay, SmtpPoolOptions pool, int maxConnections, TimeProvider clock, ILogger logger)
    {
        _relay = relay;
        _pool = pool;
        _clock = clock;
        _logger = logger;
        _slots = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = maxConnections,
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
        var period = TimeSpan.FromTicks(Math.Clamp(pool.IdleTimeout.Ticks / 4, TimeSpan.FromMilliseconds(50).Ticks, TimeSpan.FromSeconds(1).Ticks));
        _reaper = clock.CreateTimer(_ => CloseIdleConnections(), null, period, period);
    }

    /// <summary>
    /// Waits for a free slot, then gives an idle connection that still looks alive, or a new one not yet opened.
    /// Idle connections found dead (the relay closed them) are dropped here without a word: that is no failed attempt.
    /// </summary>
    internal async Task<PooledConnection> RentAsync(CancellationToken cancellationToken)
    {
        var slot = await _slots.AcquireAsync(1, cancellationToken);
        try
        {
            var connection = TakeIdleOrCreate();
            connection.Slot = slot;
            return connection;
        }
        catch
        {
            slot.Dispose();
            throw;
        }
    }

    private PooledConnection TakeIdleOrCreate()
    {
        while (true)
        {
            PooledConnection? idle;
            lock (_gate)
            {
                if (_idle.Count == 0)
                {
                    break;
                }
                idle = _idle[^1];
                _idle.RemoveAt(_idle.Count - 1);
            }

            if (_pool.Enabled && !IsExpired(idle) && idle.LooksAlive())
            {
                idle.Reusable = false;
                return idle;
            }
            _logger.LogDebug("Connection {ConnectionId} to {Upstream} is closed or stale; not reused", idle.Id, _relay.Upstream);
            _ = CloseAsync(idle);
        }
        return Create();
    }

    /// <summary>Drops <paramref name="stale"/> and gives a new connection in its place, in the same slot.</summary>
    internal PooledConnection Replace(PooledConnection stale)
    {
        _ = CloseAsync(stale);
        var fresh = Create();
        (fresh.Slot, stale.Slot) = (stale.Slot, null);
        return fresh;
    }

    /// <summary>
    /// Takes a connection back: kept for the next worker when it is open, marked <see cref="PooledConnection.Reusable"/>,
    /// and under the message limit; otherwise closed (QUIT if still connected).
    /// </summary>
    internal async ValueTask ReturnAsync(PooledConnection connection)
    {
        var slot = connection.Slot;
        connection.Slot = null;
        try
        {
            if (CanTakeAnother(connection))
            {
                connection.IdleSince = _clock.GetUtcNow();
                lock (_gate)
                {
                    if (!_disposed)
                    {
                        _idle.Add(connection);
                        return;
                    }
                }
            }
            await CloseAsync(connection);
        }
        finally
        {
            slot?.Dispose();
        }
    }

    /// <summary>Whether <paramref name="connection"/> may carry one more transaction after the current one.</summary>
    internal bool CanTakeAnother(PooledConnection connection) =>
        connection.Reusable
        && connection.IsOpen
        && _pool.Enabled
        && connection.Transactions < _pool.MaxMessagesPerConnection;

    /// <summary>Says QUIT on every idle connection.</summary>
    public async ValueTask DisposeAsync()
    {
        List<PooledConnection> idle;
        lock (_gate)
        {
            _disposed = true;
            idle = [.. _idle];
            _idle.Clear();
        }
        await _reaper.DisposeAsync();
        await Task.WhenAll(idle.Select(CloseAsync));
        _slots.Dispose();
    }

    private PooledConnection Create()
    {
        var number = Interlocked.Increment(ref _opened);
        return new PooledConnection($"{_idPrefix}-{number}", _relay);
    }

    private bool IsExpired(PooledConnection connection) =>
        _clock.GetUtcNow() - connection.IdleSince >= _pool.IdleTimeout;

    private void CloseIdleConnections()
    {
        List<PooledConnection>? expired = null;
        lock (_gate)
        {
            for (var i = _idle.Count - 1; i >= 0; i--)
            {
                if (IsExpired(_idle[i]))
                {
                    (expired ??= []).Add(_idle[i]);
                    _idle.RemoveAt(i);
                }
            }
        }
        foreach (var connection in expired ?? [])
        {
            _logger.LogDebug("Connection {ConnectionId} to {Upstream} idle for {IdleTimeout}: QUIT after {Transactions} transaction(s)",
                connection.Id, _relay.Upstream, _pool.IdleTimeout, connection.Transactions);
            _ = CloseAsync(connection);
        }
    }

    private static async Task CloseAsync(PooledConnection connection)
    {
        try
        {
            await connection.QuitQuietlyAsync();
        }
        finally
        {
            connection.Dispose();
        }
    }
}
