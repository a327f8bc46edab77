using MailApi.Storage;
using Microsoft.Extensions.Options;

namespace MailApi.Messages;

/// <summary>
/// What back-pressure compares with the limits: the store's backlog read at most every <see cref="Freshness"/> while it
/// is near a limit (<see cref="FarFreshness"/> while it is below half of both), plus what this instance stored since.
/// Counting a PostgreSQL table on every POST cost a statement per request, and the count itself grows slow under a high
/// rate of status changes (80 ms a call in the bench); the limits are bounds against runaway growth and need no more
/// precision than this (other instances' messages show up within those times, and this instance's own at once). Only the
/// first request waits for a read: once there is a value, a stale one starts a read in the background and is answered
/// with the value it has, so a slow count of a long backlog never holds up a POST.
/// </summary>
public sealed class BacklogGauge(IMessageStore store, IOptions<LimitsOptions> limits, TimeProvider clock, ILogger<BacklogGauge> logger)
{
    /// <summary>How old a read may be while the backlog is at half of a limit or more.</summary>
    public static readonly TimeSpan Freshness = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// How old a read may be while the backlog is below half of both limits: the other instances would have to store
    /// that other half within this time for a POST to pass a limit unseen.
    /// </summary>
    public static readonly TimeSpan FarFreshness = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _first = new(1, 1);
    private readonly Lock _gate = new();
    private Backlog _read;
    private Backlog _since;
    private DateTimeOffset? _readAt;
    private Task? _reading;

    /// <summary>The backlog as of a recent read, with this instance's own messages since.</summary>
    public async ValueTask<Backlog> CurrentAsync(CancellationToken cancellationToken)
    {
        if (Known() is { } known)
        {
            return known;
        }
        await _first.WaitAsync(cancellationToken);
        try
        {
            // Another request may have read it while this one waited: one read serves them all.
            if (Known() is { } again)
            {
                return again;
            }
            await ReadAsync(cancellationToken);
            return Known()!.Value;
        }
        finally
        {
            _first.Release();
        }
    }

    /// <summary>Counts messages this instance just stored, until the next read of the store includes them.</summary>
    public void Stored(long messages, long bytes)
    {
        lock (_gate)
        {
            _since = new Backlog(_since.Messages + messages, _since.Bytes + bytes);
        }
    }

    /// <summary>The value there is (null before the first read); when it is stale, one background read is started.</summary>
    private Backlog? Known()
    {
        lock (_gate)
        {
            if (_readAt is not { } at)
            {
                return null;
            }
            var known = new Backlog(_read.Messages + _since.Messages, _read.Bytes + _since.Bytes);
            if (clock.GetUtcNow() - at >= MaxAge(known) && _reading is null)
            {
                _reading = Task.Run(() => RefreshAsync());
            }
            return known;
        }
    }

    /// <summary>How old a read may be with this backlog known: <see cref="Freshness"/> from half of either limit on.</summary>
    internal TimeSpan MaxAge(Backlog known) =>
        known.Messages >= limits.Value.MaxPendingMessages / 2 || known.Bytes >= limits.Value.MaxPendingBytes / 2 ? Freshness : FarFreshness;

    private async Task RefreshAsync()
    {
        try
        {
            await ReadAsync(CancellationToken.None);
        }
        catch (Exception ex)
        {
            // The last value stands; a request once it is stale again tries again.
            logger.LogWarning("Reading the backlog failed ({Error}); the last value is used", ex.Message);
            lock (_gate)
            {
                _readAt = clock.GetUtcNow();
            }
        }
        finally
        {
            lock (_gate)
            {
                _reading = null;
            }
        }
    }

    /// <summary>
    /// Reads the store and keeps of <see cref="_since"/> only what was stored after the read began: a message stored while
    /// the count runs may be missing from it, and forgetting it would let the next request past the limit. One the count
    /// did include is counted twice until the next read (back-pressure errs on the side of the limit).
    /// </summary>
    private async Task ReadAsync(CancellationToken cancellationToken)
    {
        Backlog before;
        lock (_gate)
        {
            before = _since;
        }
        var read = await store.BacklogAsync(cancellationToken);
        lock (_gate)
        {
            (_read, _since, _readAt) = (read, new Backlog(_since.Messages - before.Messages, _since.Bytes - before.Bytes), clock.GetUtcNow());
        }
    }
}
