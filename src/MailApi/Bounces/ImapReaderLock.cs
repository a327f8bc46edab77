using MailApi.Storage;
using Npgsql;

namespace MailApi.Bounces;

/// <summary>Who reads a bounce mailbox: one instance at a time, so no two take the same mail at once.</summary>
public interface IImapReaderLock
{
    /// <summary>This instance's turn at reading <paramref name="mailbox"/>, or null while another instance has it.</summary>
    Task<IImapReaderTurn?> TryTakeAsync(string mailbox, CancellationToken cancellationToken);
}

/// <summary>A turn at reading a mailbox, held until disposed or lost (its database session ended).</summary>
public interface IImapReaderTurn : IAsyncDisposable
{
    /// <summary>Whether the turn is still this instance's; asked before each mail is taken.</summary>
    Task<bool> IsHeldAsync(CancellationToken cancellationToken);
}

/// <summary>In memory, the store is the instance's own: no other instance shares its reports, so the turn is always its.</summary>
public sealed class LocalImapReaderLock : IImapReaderLock, IImapReaderTurn
{
    public Task<IImapReaderTurn?> TryTakeAsync(string mailbox, CancellationToken cancellationToken) => Task.FromResult<IImapReaderTurn?>(this);

    public Task<bool> IsHeldAsync(CancellationToken cancellationToken) => Task.FromResult(true);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>
/// Instances on one PostgreSQL database take turns with a session advisory lock held on a connection of its own: the lock
/// lives exactly as long as that session, so an instance that dies or loses the database frees the mailbox for the next
/// one without any lease to expire, and the instances waiting ask again every poll interval. Two readers would each take
/// a mail before either moved it, and each would read it as new; the lock keeps that from happening, and the report's
/// unique identity and source in the store stay the backstop for the moment a lost session is noticed.
/// </summary>
public sealed class PostgreSqlImapReaderLock(PostgreSqlDatabase database) : IImapReaderLock
{
    /// <summary>The advisory lock class of mailbox readers (the key's first half; the second is the mailbox URL's hash).
    /// Never change it: instances of two versions must take the same lock.</summary>
    private const int ReaderLockClass = 7461727;

    public async Task<IImapReaderTurn?> TryTakeAsync(string mailbox, CancellationToken cancellationToken)
    {
        // Not from the pool: a pooled connection goes back to other users, and its session (with the lock) would outlive the turn.
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database.ConnectionString) { Pooling = false, KeepAlive = 30 }.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand($"select pg_try_advisory_lock({ReaderLockClass}, hashtext($1))", connection);
            command.Parameters.Add(new() { Value = mailbox });
            if (await command.ExecuteScalarAsync(cancellationToken) is true)
            {
                return new Turn(connection);
            }
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
        await connection.DisposeAsync();
        return null;
    }

    private sealed class Turn(NpgsqlConnection connection) : IImapReaderTurn
    {
        public async Task<bool> IsHeldAsync(CancellationToken cancellationToken)
        {
            try
            {
                await using var command = new NpgsqlCommand("select 1", connection);
                await command.ExecuteScalarAsync(cancellationToken);
                return true;
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
            {
                return false;
            }
        }

        // Closing the session releases its advisory locks.
        public ValueTask DisposeAsync() => connection.DisposeAsync();
    }
}
