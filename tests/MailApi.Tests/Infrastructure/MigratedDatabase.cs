using MailApi.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace MailApi.Tests.Infrastructure;

/// <summary>A new database on the test PostgreSQL with MailApi's schema applied, as the service's start-up step applies it.</summary>
public static class MigratedDatabase
{
    /// <param name="configure">Changes to the storage options, given the new database's connection string.</param>
    public static async Task<PostgreSqlDatabase> CreateAsync(Action<StorageOptions>? configure = null)
    {
        var storage = new StorageOptions { Provider = StorageProvider.PostgreSql, ConnectionString = await MailApi.Testing.Postgres.CreateDatabaseAsync() };
        configure?.Invoke(storage);
        var database = new PostgreSqlDatabase(Microsoft.Extensions.Options.Options.Create(storage), NullLogger<PostgreSqlDatabase>.Instance);
        await database.MigrateAsync(CancellationToken.None);
        return database;
    }
}
