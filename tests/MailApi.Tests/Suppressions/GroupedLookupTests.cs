using System.Collections.Concurrent;
using System.Diagnostics;
using MailApi.Suppressions;
using MailApi.Testing;
using MailApi.Tests.Infrastructure;
using Npgsql;

namespace MailApi.Tests.Suppressions;

/// <summary>
/// The PostgreSQL suppression lookups in groups: lookups that come while one is in flight share one statement, and each
/// caller still gets its own key's live entries among its own addresses. The first lookup is held by the test's lock on
/// the table, so the next ones are sure to queue behind it; statements are counted from Npgsql's command activities of
/// the test's own database.
/// </summary>
[Trait("Category", "PostgreSql")]
public sealed class GroupedLookupTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(1);
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Lookups_that_come_while_one_runs_share_one_statement_and_each_gets_its_own_keys_live_entries()
    {
        using var database = await MigratedDatabase.CreateAsync();
        var store = new PostgreSqlSuppressionStore(database);
        var (alpha, beta) = ("alpha-" + Guid.NewGuid().ToString("N")[..8], "beta-" + Guid.NewGuid().ToString("N")[..8]);
        var alphaBob = await PutAsync(store, alpha, "bob@example.com", null);
        var alphaCarol = await PutAsync(store, alpha, "carol@example.com", T0.AddMinutes(10));
        var betaBob = await PutAsync(store, beta, "bob@example.com", null);
        await PutAsync(store, beta, "dave@example.com", T0.AddMinutes(1));

        Task<IReadOnlyDictionary<string, StoredSuppression>> first;
        Task<IReadOnlyDictionary<string, StoredSuppression>>[] queued;
        using var statements = new StatementCounter(new NpgsqlConnectionStringBuilder(database.ConnectionString).Database!, "from mailapi_suppressions");
        await using (var connection = new NpgsqlConnection(database.ConnectionString))
        {
            await connection.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await new NpgsqlCommand("lock table mailapi_suppressions in access exclusive mode", connection, transaction).ExecuteNonQueryAsync();
            first = store.FindAsync(alpha, ["bob@example.com"], T0, CancellationToken.None);
            await WaitUntilBlockedAsync(database.ConnectionString);
            queued =
            [
                store.FindAsync(alpha, ["bob@example.com", "carol@example.com", "erin@example.com"], T0, CancellationToken.None),
                // Carol's entry expired before this caller's time; Bob's lives for every caller.
                store.FindAsync(alpha, ["carol@example.com", "bob@example.com"], T0.AddMinutes(20), CancellationToken.None),
                // Another key: its own Bob, no Carol, Dave expired at this caller's time; an address given twice counts once.
                store.FindAsync(beta, ["bob@example.com", "carol@example.com", "dave@example.com", "bob@example.com"], T0.AddMinutes(2), CancellationToken.None),
                store.FindAsync("gamma", ["bob@example.com"], T0, CancellationToken.None),
            ];
            await transaction.RollbackAsync();
        }
        var results = await Task.WhenAll(queued);

        Assert.Equal([alphaBob.Id], (await first).Values.Select(e => e.Id));
        Assert.Equal([alphaBob.Id, alphaCarol.Id], results[0].Values.Select(e => e.Id).Order());
        Assert.Equal(["bob@example.com", "carol@example.com"], results[0].Keys.Order());
        Assert.Equal([alphaBob.Id], results[1].Values.Select(e => e.Id));
        Assert.Equal(betaBob.Id, Assert.Single(results[2]).Value.Id);
        Assert.Empty(results[3]);
        // The held lookup, then one statement for the four that waited behind it.
        Assert.Equal(2, statements.Count);
    }

    [Fact]
    public async Task A_lookup_alone_runs_at_once_and_an_empty_one_asks_nothing()
    {
        using var database = await MigratedDatabase.CreateAsync();
        var store = new PostgreSqlSuppressionStore(database);
        var entry = await PutAsync(store, "alpha", "bob@example.com", null);
        using var statements = new StatementCounter(new NpgsqlConnectionStringBuilder(database.ConnectionString).Database!, "from mailapi_suppressions");

        Assert.Equal(entry.Id, (await store.FindAsync("alpha", ["bob@example.com"], T0, CancellationToken.None))["bob@example.com"].Id);
        Assert.Empty(await store.FindAsync("alpha", [], T0, CancellationToken.None));
        Assert.Equal(1, statements.Count);
    }

    private static async Task<StoredSuppression> PutAsync(ISuppressionStore store, string owner, string address, DateTimeOffset? expires)
    {
        var entry = new StoredSuppression
        {
            Owner = owner,
            Address = address,
            Id = Guid.CreateVersion7(),
            Reason = SuppressionReason.Manual,
            CreatedAt = T0.AddHours(-1),
            ExpiresAt = expires,
        };
        await store.PutAsync(entry, T0.AddHours(-1), CancellationToken.None);
        return entry;
    }

    /// <summary>Until the store's lookup waits for the test's lock on the table.</summary>
    private static Task WaitUntilBlockedAsync(string connectionString) => Poll.UntilAsync(async () =>
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like 'select %mailapi_suppressions%'",
            connection);
        return (long)(await command.ExecuteScalarAsync())! > 0;
    }, Patience, () => "the store's lookup to wait for the test's lock");

    /// <summary>The selects Npgsql ran against one database that contain <c>text</c>, counted as they end.</summary>
    private sealed class StatementCounter : IDisposable
    {
        private readonly ActivityListener _listener;
        private readonly ConcurrentBag<string> _statements = [];

        public StatementCounter(string database, string text)
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == "Npgsql",
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
                ActivityStopped = activity =>
                {
                    if (activity.GetTagItem("db.namespace") as string == database && activity.GetTagItem("db.query.text") is string query
                        && query.StartsWith("select", StringComparison.Ordinal) && query.Contains(text, StringComparison.Ordinal))
                    {
                        _statements.Add(query);
                    }
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public int Count => _statements.Count;

        public void Dispose() => _listener.Dispose();
    }
}
