using MailApi.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace MailApi.Tests.Storage;

/// <summary>
/// The PostgreSQL store's writes in groups (<c>GroupedCalls</c>): callers that come while a write is in flight share one
/// statement, each with its own result. The first write is held by a row lock of the test's own transaction (for an
/// insert, the uncommitted row with its id), so the next callers are sure to queue up behind it; rows written by one
/// statement share its transaction id (<c>xmin</c>), which is how the tests count statements.
/// </summary>
[Trait("Category", "PostgreSql")]
public sealed class GroupedWritesTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task Updates_that_come_while_one_is_written_share_one_statement_and_each_gets_its_own_row()
    {
        var (database, store, owner) = await StoreAsync();
        var held = await AddAsync(store, owner);
        var others = new List<StoredMessage>();
        for (var i = 0; i < 12; i++)
        {
            others.Add(await AddAsync(store, owner));
        }

        Task<StoredMessage?> first;
        List<Task<StoredMessage?>> queued;
        await using (var hold = await HoldAsync(database.ConnectionString, held.Id))
        {
            first = store.TryUpdateAsync(held with { Worker = "held" }, CancellationToken.None);
            await WaitUntilBlockedAsync(database.ConnectionString, "update");
            queued = [.. others.Select((m, i) => store.TryUpdateAsync(m with { Status = MessageStatus.Sending, Worker = $"w{i}" }, CancellationToken.None))];
            await hold.ReleaseAsync();
        }
        var results = await Task.WhenAll(queued);

        Assert.Equal("held", (await first)!.Worker);
        for (var i = 0; i < others.Count; i++)
        {
            Assert.Equal(others[i].Id, results[i]!.Id);
            Assert.Equal($"w{i}", results[i]!.Worker);
            Assert.Equal(2, results[i]!.Version);
            var stored = await store.FindAsync(others[i].Id, CancellationToken.None);
            Assert.Equal((MessageStatus.Sending, $"w{i}", 2L), (stored!.Status, stored.Worker, stored.Version));
        }
        var transactions = await TransactionsAsync(database.ConnectionString, others.Select(m => m.Id));
        Assert.Single(transactions.Distinct());
        Assert.NotEqual(transactions[0], (await TransactionsAsync(database.ConnectionString, [held.Id]))[0]);
    }

    [Fact]
    public async Task A_lost_compare_and_set_in_a_group_leaves_the_others_written()
    {
        var (database, store, owner) = await StoreAsync();
        var held = await AddAsync(store, owner);
        var (a, stale, b) = (await AddAsync(store, owner), await AddAsync(store, owner), await AddAsync(store, owner));
        var changed = await store.TryUpdateAsync(stale with { Status = MessageStatus.Canceled }, CancellationToken.None);

        Task<StoredMessage?>[] queued;
        await using (var hold = await HoldAsync(database.ConnectionString, held.Id))
        {
            var first = store.TryUpdateAsync(held with { Worker = "held" }, CancellationToken.None);
            await WaitUntilBlockedAsync(database.ConnectionString, "update");
            queued = [.. new[] { a, stale, b }.Select(m => store.TryUpdateAsync(m with { Worker = "late" }, CancellationToken.None))];
            await hold.ReleaseAsync();
            await first;
        }
        var results = await Task.WhenAll(queued);

        Assert.Equal("late", results[0]!.Worker);
        Assert.Null(results[1]);
        Assert.Equal("late", results[2]!.Worker);
        var stored = await store.FindAsync(stale.Id, CancellationToken.None);
        Assert.Equal((MessageStatus.Canceled, (string?)null, changed!.Version), (stored!.Status, stored.Worker, stored.Version));
        Assert.Equal("late", (await store.FindAsync(b.Id, CancellationToken.None))!.Worker);
    }

    [Fact]
    public async Task Of_two_updates_of_one_message_that_wait_together_exactly_one_wins()
    {
        var (database, store, owner) = await StoreAsync();
        var held = await AddAsync(store, owner);
        var (message, other) = (await AddAsync(store, owner), await AddAsync(store, owner));

        Task<StoredMessage?>[] queued;
        await using (var hold = await HoldAsync(database.ConnectionString, held.Id))
        {
            var first = store.TryUpdateAsync(held with { Worker = "held" }, CancellationToken.None);
            await WaitUntilBlockedAsync(database.ConnectionString, "update");
            queued =
            [
                store.TryUpdateAsync(message with { Status = MessageStatus.Sent, Worker = "one" }, CancellationToken.None),
                store.TryUpdateAsync(other with { Worker = "other" }, CancellationToken.None),
                store.TryUpdateAsync(message with { Status = MessageStatus.Failed, Worker = "two" }, CancellationToken.None),
            ];
            await hold.ReleaseAsync();
            await first;
        }
        var results = await Task.WhenAll(queued);

        // The one that queued first is written; the second is compared with the version the first left, and loses.
        Assert.Equal("one", results[0]!.Worker);
        Assert.Equal("other", results[1]!.Worker);
        Assert.Null(results[2]);
        var stored = await store.FindAsync(message.Id, CancellationToken.None);
        Assert.Equal((MessageStatus.Sent, "one", 2L), (stored!.Status, stored.Worker, stored.Version));
    }

    [Fact]
    public async Task Requests_that_come_while_one_is_inserted_share_one_statement_and_each_gets_its_own_messages()
    {
        var (database, store, owner) = await StoreAsync();
        var held = MessageStoreContract.Message(owner);
        var requests = Enumerable.Range(0, 6).Select(i => Enumerable.Range(0, 1 + i % 3).Select(_ => MessageStoreContract.Message(owner)).ToList()).ToList();

        Task<AddResult> first;
        List<Task<AddResult>> queued;
        await using (var hold = await HoldIdAsync(database.ConnectionString, held.Id))
        {
            first = store.AddAsync([held], null, CancellationToken.None);
            await WaitUntilBlockedAsync(database.ConnectionString, "insert");
            queued = [.. requests.Select(r => store.AddAsync(r, null, CancellationToken.None))];
            await hold.ReleaseAsync();
        }
        var results = await Task.WhenAll(queued);

        Assert.True((await first).Created);
        for (var i = 0; i < requests.Count; i++)
        {
            Assert.True(results[i].Created);
            Assert.Equal(requests[i].Select(m => m.Id), results[i].Messages.Select(m => m.Id));
            Assert.All(results[i].Messages, m => Assert.Equal(1, m.Version));
        }
        var ids = requests.SelectMany(r => r.Select(m => m.Id)).ToList();
        var page = await store.ListAsync(new MessageQuery { Owner = owner, Limit = 100 }, CancellationToken.None);
        Assert.Equal(ids.Append(held.Id).Order(), page.Items.Select(m => m.Id).Order());
        Assert.Single((await TransactionsAsync(database.ConnectionString, ids)).Distinct());
    }

    [Fact]
    public async Task A_request_that_cannot_be_stored_fails_alone_and_stores_none_of_its_messages()
    {
        var (database, store, owner) = await StoreAsync();
        var existing = await AddAsync(store, owner);
        var held = MessageStoreContract.Message(owner);
        var (before, after, fresh) = (MessageStoreContract.Message(owner), MessageStoreContract.Message(owner), MessageStoreContract.Message(owner));

        Task<AddResult>[] queued;
        await using (var hold = await HoldIdAsync(database.ConnectionString, held.Id))
        {
            var first = store.AddAsync([held], null, CancellationToken.None);
            await WaitUntilBlockedAsync(database.ConnectionString, "insert");
            queued =
            [
                store.AddAsync([before], null, CancellationToken.None),
                store.AddAsync([fresh, existing], null, CancellationToken.None),
                store.AddAsync([after], null, CancellationToken.None),
            ];
            await hold.ReleaseAsync();
            await first;
        }

        Assert.True((await queued[0]).Created);
        Assert.True((await queued[2]).Created);
        Assert.Equal("23505", Assert.IsType<PostgresException>(await Assert.ThrowsAnyAsync<Exception>(() => queued[1])).SqlState);
        Assert.Null(await store.FindAsync(fresh.Id, CancellationToken.None));
        Assert.NotNull(await store.FindAsync(before.Id, CancellationToken.None));
        Assert.NotNull(await store.FindAsync(after.Id, CancellationToken.None));
    }

    [Fact]
    public async Task An_outage_fails_every_caller_of_the_round_with_the_same_exception_and_the_next_write_works()
    {
        await using var cluster = await PrivatePostgres.StartAsync();
        // No pool: the round after the outage opens a connection of its own, and is refused.
        var connectionString = cluster.ConnectionString + ";Pooling=false";
        using var database = new PostgreSqlDatabase(Microsoft.Extensions.Options.Options.Create(
            new StorageOptions { Provider = StorageProvider.PostgreSql, ConnectionString = connectionString }), NullLogger<PostgreSqlDatabase>.Instance);
        await database.MigrateAsync(CancellationToken.None);
        var store = new PostgreSqlMessageStore(database);
        var owner = "owner-" + Guid.NewGuid().ToString("N")[..8];
        var held = await AddAsync(store, owner);
        var others = new List<StoredMessage>();
        for (var i = 0; i < 4; i++)
        {
            others.Add(await AddAsync(store, owner));
        }

        await using var hold = await HoldAsync(database.ConnectionString, held.Id);
        var first = store.TryUpdateAsync(held with { Worker = "held" }, CancellationToken.None);
        await WaitUntilBlockedAsync(database.ConnectionString, "update");
        var queued = others.Select(m => store.TryUpdateAsync(m with { Worker = "late" }, CancellationToken.None)).ToList();
        await cluster.StopAsync();

        Assert.True(StorageOutage.Is(await Assert.ThrowsAnyAsync<Exception>(() => first)));
        var failures = new List<Exception>();
        foreach (var task in queued)
        {
            failures.Add(await Assert.ThrowsAnyAsync<Exception>(() => task));
        }
        Assert.True(StorageOutage.Is(failures[0]), failures[0].ToString());
        Assert.All(failures, f => Assert.Same(failures[0], f));

        await cluster.StartAgainAsync();
        var after = await store.TryUpdateAsync(others[0] with { Worker = "after" }, CancellationToken.None);
        Assert.Equal((2L, "after"), (after!.Version, after.Worker));
    }

    private static async Task<(PostgreSqlDatabase Database, IMessageStore Store, string Owner)> StoreAsync()
    {
        var database = await Infrastructure.MigratedDatabase.CreateAsync();
        return (database, new PostgreSqlMessageStore(database), "owner-" + Guid.NewGuid().ToString("N")[..8]);
    }

    private static async Task<StoredMessage> AddAsync(IMessageStore store, string owner) =>
        (await store.AddAsync([MessageStoreContract.Message(owner)], null, CancellationToken.None)).Messages.Single();

    /// <summary>A transaction of the test's own that holds the row's lock until it ends: a write of that row waits for it.</summary>
    private static async Task<RowLock> HoldAsync(string connectionString, Guid id)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using var command = new NpgsqlCommand("select 1 from mailapi_messages where id = $1 for update", connection, transaction);
        command.Parameters.Add(new() { Value = id });
        await command.ExecuteScalarAsync();
        return new RowLock(connection, transaction);
    }

    /// <summary>A transaction of the test's own that inserts a row with this id and holds it uncommitted: an insert of the id waits for it.</summary>
    private static async Task<RowLock> HoldIdAsync(string connectionString, Guid id)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using var command = new NpgsqlCommand(
            "insert into mailapi_messages (id, owner, status, created_at, updated_at, sender, recipients, tags, version, doc) "
            + "values ($1, 'test', 'queued', now(), now(), 'test', '{}', '{}', 1, '{}')", connection, transaction);
        command.Parameters.Add(new() { Value = id });
        await command.ExecuteNonQueryAsync();
        return new RowLock(connection, transaction);
    }

    private sealed class RowLock(NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
    {
        public Task ReleaseAsync() => transaction.RollbackAsync();

        public ValueTask DisposeAsync() => connection.DisposeAsync();
    }

    /// <summary>Until the store's <paramref name="verb"/> waits for the test's lock, so that a write is in flight.</summary>
    private static Task WaitUntilBlockedAsync(string connectionString, string verb) => Poll.UntilAsync(async () =>
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like $1", connection);
        command.Parameters.Add(new() { Value = verb + " %mailapi_messages %" });
        return (long)(await command.ExecuteScalarAsync())! > 0;
    }, Patience, () => $"the store's {verb} to wait for the test's lock");

    /// <summary>The transaction that last wrote each row, in the order of <paramref name="ids"/>.</summary>
    private static async Task<List<long>> TransactionsAsync(string connectionString, IEnumerable<Guid> ids)
    {
        var order = ids.ToList();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select id, xmin::text::bigint from mailapi_messages where id = any($1)", connection);
        command.Parameters.Add(new() { Value = order.ToArray() });
        var found = new Dictionary<Guid, long>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            found[reader.GetGuid(0)] = reader.GetInt64(1);
        }
        return [.. order.Select(id => found[id])];
    }
}
