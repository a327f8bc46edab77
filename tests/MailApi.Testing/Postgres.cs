using Npgsql;

namespace MailApi.Testing;

/// <summary>
/// The test PostgreSQL server, from <c>MAILAPI_TEST_POSTGRES</c> or the file <c>tests/relays/postgres.sh start</c> writes.
/// Each caller gets a database of its own, so Hangfire servers of different tests never take each other's jobs.
/// </summary>
public static class Postgres
{
    private const string File = "/tmp/mailapi-postgres/connection-string";

    public const string HowToGet =
        "PostgreSQL is not running: start the test cluster with `bash tests/relays/postgres.sh start` (CI does), or set MAILAPI_TEST_POSTGRES to a connection string.";

    /// <summary>The server's connection string, or null when there is none.</summary>
    public static string? ServerConnectionString =>
        Environment.GetEnvironmentVariable("MAILAPI_TEST_POSTGRES") is { Length: > 0 } fromEnvironment ? fromEnvironment
        : System.IO.File.Exists(File) ? System.IO.File.ReadAllText(File).Trim()
        : null;

    /// <summary>A new, empty database; skips the test with a reason when there is no server.</summary>
    public static async Task<string> CreateDatabaseAsync()
    {
        var server = ServerConnectionString;
        if (server is null)
        {
            Assert.Skip(HowToGet);
        }
        var name = "mailapi_t_" + Guid.NewGuid().ToString("N")[..12];
        try
        {
            await using var connection = new NpgsqlConnection(server);
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"create database {name}", connection);
            await create.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException ex)
        {
            Assert.Skip($"{HowToGet} ({ex.Message})");
        }
        // Each test has a database, so a pool of its own that outlives the test: idle connections close after 10 s
        // (Npgsql's default is 300 s), or a whole run's pools add up past the server's max_connections.
        return new NpgsqlConnectionStringBuilder(server) { Database = name, Pooling = true, ConnectionIdleLifetime = 10 }.ConnectionString;
    }
}
