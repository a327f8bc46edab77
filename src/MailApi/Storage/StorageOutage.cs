using Npgsql;

namespace MailApi.Storage;

/// <summary>
/// Tells a storage outage (the database stopped, restarting, unreachable, out of connections) from a bug, wherever
/// the exception comes from: the message store, or Hangfire's storage on the same database.
/// </summary>
public static class StorageOutage
{
    /// <summary>What a caller is told to wait before trying again while the store is unreachable.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);

    /// <summary>
    /// True when <paramref name="exception"/> or one of its inner exceptions says the database could not be used right
    /// now: Npgsql's own judgement (<see cref="NpgsqlException.IsTransient"/>: connection refused or broken, timeout,
    /// too many connections, cannot connect now) and a server shutting down (SQLSTATE class 57P: <c>pg_ctl stop</c>).
    /// </summary>
    public static bool Is(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is NpgsqlException { IsTransient: true } or PostgresException { SqlState: ['5', '7', 'P', ..] })
            {
                return true;
            }
        }
        return false;
    }
}
