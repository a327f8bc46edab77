using Microsoft.Extensions.Options;
using Npgsql;

namespace MailApi.Storage;

/// <summary>
/// The PostgreSQL database shared by the stores and Hangfire: one data source, and the versioned SQL in
/// <c>Storage/Sql</c>, which <see cref="SchemaMigration"/> applies at start through <see cref="MigrateAsync"/>.
/// </summary>
public sealed class PostgreSqlDatabase : IDisposable
{
    /// <summary>The advisory lock instances take while they migrate, so that two starting together take turns. Never change
    /// it: instances of two versions starting together must take the same lock.</summary>
    private const long MigrationLock = 7461726;

    public NpgsqlDataSource DataSource { get; }
    public string ConnectionString { get; }

    private readonly ILogger<PostgreSqlDatabase> _logger;

    public PostgreSqlDatabase(IOptions<StorageOptions> options, ILogger<PostgreSqlDatabase> logger)
    {
        _logger = logger;
        var builder = new NpgsqlConnectionStringBuilder(options.Value.ConnectionString);
        if (builder.Timeout > 15)
        {
            builder.Timeout = 15;
        }
        // A pooled connection is reset with DISCARD ALL each time it is handed back: a round trip per use for session state
        // neither this store nor Hangfire.PostgreSql keeps (no SET, temp tables or LISTEN).
        builder.NoResetOnClose = true;
        // Two pools an instance at Npgsql's default of 100 each would let two instances ask for more than PostgreSQL's default
        // max_connections (53300: too many clients). A full pool makes callers wait (Timeout) instead.
        builder.MaxPoolSize = options.Value.StoreConnections;
        builder.MaxAutoPrepare = 64;
        ConnectionString = builder.ConnectionString;
        DataSource = NpgsqlDataSource.Create(ConnectionString);
    }

    /// <summary>
    /// Brings the schema to the newest version in <c>Storage/Sql</c>, in one transaction. Fails naming
    /// <c>Storage:ConnectionString</c> when the database cannot be reached, so the service stops at start instead of
    /// answering 503 for ever.
    /// </summary>
    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await DataSource.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            // Two instances starting together: the second waits here, then finds the schema current.
            await ExecuteAsync(connection, $"select pg_advisory_xact_lock({MigrationLock}); "
                + "create table if not exists mailapi_schema_versions (version int primary key, applied_at timestamptz not null default now())", cancellationToken);
            await using (var read = new NpgsqlCommand("select coalesce(max(version), 0) from mailapi_schema_versions", connection))
            {
                var current = (int)(await read.ExecuteScalarAsync(cancellationToken))!;
                foreach (var (version, sql) in Scripts().Where(s => s.Version > current))
                {
                    await ExecuteAsync(connection, sql, cancellationToken);
                    await ExecuteAsync(connection, $"insert into mailapi_schema_versions (version) values ({version})", cancellationToken);
                    _logger.LogInformation("Applied message store schema version {Version}", version);
                }
            }
            await transaction.CommitAsync(cancellationToken);
        }
        catch (NpgsqlException ex)
        {
            var builder = new NpgsqlConnectionStringBuilder(ConnectionString);
            throw new InvalidOperationException(
                $"Storage:ConnectionString: cannot use PostgreSQL at {builder.Host}:{builder.Port} (database '{builder.Database}'): {ex.Message}", ex);
        }
    }

    private static IEnumerable<(int Version, string Sql)> Scripts()
    {
        var assembly = typeof(PostgreSqlDatabase).Assembly;
        return assembly.GetManifestResourceNames()
            .Where(n => n.Contains(".Storage.Sql.", StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Select(n =>
            {
                var file = n[(n.IndexOf(".Sql.", StringComparison.Ordinal) + 5)..];
                using var reader = new StreamReader(assembly.GetManifestResourceStream(n)!);
                return (int.Parse(file[..file.IndexOf('_')]), reader.ReadToEnd());
            })
            .OrderBy(s => s.Item1);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public void Dispose() => DataSource.Dispose();
}
