using MailApi.Storage;

namespace MailApi.Messages;

/// <summary>
/// What back-pressure compares with the limits: the store's backlog read at most every <see cref="Freshness"/>, plus
/// what this instance stored since. Counting a PostgreSQL table on every POST cost a statement per request; the limits
/// are bounds against runaway growth and need no more precision than this (other instances' messages show up within
/// <see cref="Freshness"/>).
/// </summary>
public sealed class BacklogGauge(IMessageStore store, TimeProvider clock)
{
    public static readonly TimeSpan Freshness = TimeSpan.FromMilliseconds(500);

    private readonly SemaphoreSlim _reading = new(1, 1);
    private readonly Lock _gate = new();
    private Backlog _read;
    private Backlog _since;
    private DateTimeOffset _readAt = DateTimeOffset.MinValue;

    /// <summary>The backlog as of at most <see cref="Freshness"/> ago, with this instance's own messages since.</summary>
    public async ValueTask<Backlog> CurrentAsync(CancellationToken cancellationToken)
    {
        if (Fresh() is { } fresh)
        {
            return fresh;
        }
        await _reading.WaitAsync(cancellationToken);
        try
        {
            // Another request may have read it while this one waited: one read serves them all.
            if (Fresh() is { } again)
            {
                return again;
            }
            var read = await store.BacklogAsync(cancellationToken);
            lock (_gate)
            {
                (_read, _since, _readAt) = (read, default, clock.GetUtcNow());
                return read;
            }
        }
        finally
        {
            _reading.Release();
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

    private Backlog? Fresh()
    {
        lock (_gate)
        {
            return clock.GetUtcNow() - _readAt < Freshness
                ? new Backlog(_read.Messages + _since.Messages, _read.Bytes + _since.Bytes)
                : null;
        }
    }
}
