using System.Text.Json;
using MailApi.Grouping;
using MailApi.Storage;
using Npgsql;
using NpgsqlTypes;

namespace MailApi.Suppressions;

/// <summary>
/// The suppression lists in the message database (schema version 5): one row per (key, address), whose primary key is
/// the index each send's lookup uses. Expired rows stay until replaced or deleted; every read leaves them out.
/// </summary>
public sealed class PostgreSqlSuppressionStore(PostgreSqlDatabase database) : ISuppressionStore
{
    private const string Columns = "owner, address, id, reason, created_at, expires_at, source";

    /// <summary>The condition of a live entry, with the time as parameter <paramref name="now"/>.</summary>
    private static string Live(int now) => $"(expires_at is null or expires_at > ${now})";

    private NpgsqlDataSource Db => database.DataSource;

    /// <summary>Lookups of concurrent sends, one statement a round.</summary>
    private readonly GroupedCalls<Lookup, IReadOnlyDictionary<string, StoredSuppression>> _lookups =
        new(null, lookups => FindAllAsync(database.DataSource, lookups));

    /// <summary>One caller's lookup: <paramref name="Addresses"/> of <paramref name="Owner"/>, live at <paramref name="Now"/>.</summary>
    private sealed record Lookup(string Owner, IReadOnlyCollection<string> Addresses, DateTimeOffset Now);

    /// <remarks>
    /// Concurrent lookups share one statement (<see cref="GroupedCalls{TItem, TResult}"/>), so under load a submit's lookup
    /// costs a share of a statement and of its commit instead of one of each; at light load it runs at once.
    /// </remarks>
    public Task<IReadOnlyDictionary<string, StoredSuppression>> FindAsync(string owner, IReadOnlyCollection<string> addresses, DateTimeOffset now,
        CancellationToken cancellationToken) =>
        addresses.Count == 0
            ? Task.FromResult<IReadOnlyDictionary<string, StoredSuppression>>(new Dictionary<string, StoredSuppression>())
            : _lookups.CallAsync(new Lookup(owner, addresses, now)).WaitAsync(cancellationToken);

    /// <summary>
    /// A round's lookups in one statement, by (key, address) pairs on the primary key; each caller gets its own key's
    /// entries among its own addresses that are live at its own time.
    /// </summary>
    private static async Task<Func<Lookup, IReadOnlyDictionary<string, StoredSuppression>>> FindAllAsync(NpgsqlDataSource db, IReadOnlyList<Lookup> lookups)
    {
        var pairs = lookups.SelectMany(l => l.Addresses.Select(a => (l.Owner, Address: a))).Distinct().ToList();
        await using var command = db.CreateCommand(
            $"select {Columns} from mailapi_suppressions where (owner, address) in (select * from unnest($1::text[], $2::text[])) and {Live(3)}");
        command.Parameters.Add(new() { Value = pairs.Select(p => p.Owner).ToArray() });
        command.Parameters.Add(new() { Value = pairs.Select(p => p.Address).ToArray() });
        command.Parameters.Add(new() { Value = lookups.Min(l => l.Now) });
        var found = (await ReadAsync(command, CancellationToken.None)).ToDictionary(e => (e.Owner, e.Address));
        return lookup => lookup.Addresses.Distinct()
            .Select(a => found.GetValueOrDefault((lookup.Owner, a)))
            .OfType<StoredSuppression>()
            .Where(e => e.IsLive(lookup.Now))
            .ToDictionary(e => e.Address);
    }

    public async Task<bool> PutAsync(StoredSuppression entry, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // One implicit transaction: an expired entry goes first, so the upsert below finds a live one or none.
        await using var batch = Db.CreateBatch();
        batch.BatchCommands.Add(DeleteExpired(entry, now));
        batch.BatchCommands.Add(Insert(entry,
            "on conflict (owner, address) do update set id = excluded.id, reason = excluded.reason, created_at = excluded.created_at, "
            + "expires_at = excluded.expires_at, source = excluded.source returning (xmax = 0)"));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        do
        {
            if (reader.FieldCount == 1 && await reader.ReadAsync(cancellationToken))
            {
                return reader.GetBoolean(0);
            }
        }
        while (await reader.NextResultAsync(cancellationToken));
        throw new InvalidOperationException("The upsert of a suppression returned no row.");
    }

    public async Task<bool> AddIfAbsentAsync(StoredSuppression entry, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var batch = Db.CreateBatch();
        batch.BatchCommands.Add(DeleteExpired(entry, now));
        batch.BatchCommands.Add(Insert(entry, "on conflict (owner, address) do nothing"));
        await batch.ExecuteNonQueryAsync(cancellationToken);
        return batch.BatchCommands[1].RecordsAffected == 1;
    }

    public async Task<StoredSuppression?> DeleteAsync(string owner, string address, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = Db.CreateCommand($"delete from mailapi_suppressions where owner = $1 and address = $2 returning {Columns}");
        command.Parameters.Add(new() { Value = owner });
        command.Parameters.Add(new() { Value = address });
        return (await ReadAsync(command, cancellationToken)).SingleOrDefault(e => e.IsLive(now));
    }

    public async Task<SuppressionPage> ListAsync(SuppressionQuery query, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var where = new List<string> { "owner = $1", Live(2) };
        await using var command = Db.CreateCommand();
        command.Parameters.Add(new() { Value = query.Owner });
        command.Parameters.Add(new() { Value = now });
        if (query.Reason is { } reason)
        {
            command.Parameters.Add(new() { Value = reason.Name() });
            where.Add($"reason = ${command.Parameters.Count}");
        }
        if (query.Address is { } address)
        {
            // A domain: every address ending in it ('_' and '%' cannot occur in an A-label domain, so no escaping).
            command.Parameters.Add(new() { Value = address.StartsWith('@') ? "%" + address : address });
            where.Add(address.StartsWith('@') ? $"address like ${command.Parameters.Count}" : $"address = ${command.Parameters.Count}");
        }
        if (query.Before is { } before)
        {
            command.Parameters.Add(new() { Value = before });
            where.Add($"id < ${command.Parameters.Count}");
        }
        command.Parameters.Add(new() { Value = query.Limit + 1 });
        command.CommandText = $"select {Columns} from mailapi_suppressions where {string.Join(" and ", where)} order by id desc limit ${command.Parameters.Count}";
        var page = await ReadAsync(command, cancellationToken);
        return new SuppressionPage(page.Take(query.Limit).ToList(), page.Count > query.Limit);
    }

    public async Task<IReadOnlyDictionary<SuppressionReason, long>> CountAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = Db.CreateCommand($"select reason, count(*) from mailapi_suppressions where {Live(1)} group by reason");
        command.Parameters.Add(new() { Value = now });
        var counts = new Dictionary<SuppressionReason, long>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (SuppressionReasons.Parse(reader.GetString(0)) is { } reason)
            {
                counts[reason] = reader.GetInt64(1);
            }
        }
        return counts;
    }

    private static NpgsqlBatchCommand DeleteExpired(StoredSuppression entry, DateTimeOffset now) =>
        new("delete from mailapi_suppressions where owner = $1 and address = $2 and expires_at <= $3")
        {
            Parameters = { new() { Value = entry.Owner }, new() { Value = entry.Address }, new() { Value = now } },
        };

    private static NpgsqlBatchCommand Insert(StoredSuppression entry, string conflict) =>
        new($"insert into mailapi_suppressions ({Columns}) values ($1, $2, $3, $4, $5, $6, $7) {conflict}")
        {
            Parameters =
            {
                new() { Value = entry.Owner },
                new() { Value = entry.Address },
                new() { Value = entry.Id },
                new() { Value = entry.Reason.Name() },
                new() { Value = entry.CreatedAt },
                new() { Value = (object?)entry.ExpiresAt ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz },
                new()
                {
                    Value = entry.Source is null ? DBNull.Value : JsonSerializer.Serialize(entry.Source, JsonSerializerOptions.Web),
                    NpgsqlDbType = NpgsqlDbType.Jsonb,
                },
            },
        };

    private static async Task<List<StoredSuppression>> ReadAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var entries = new List<StoredSuppression>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            entries.Add(new StoredSuppression
            {
                Owner = reader.GetString(0),
                Address = reader.GetString(1),
                Id = reader.GetGuid(2),
                Reason = SuppressionReasons.Parse(reader.GetString(3)) ?? SuppressionReason.Manual,
                CreatedAt = reader.GetFieldValue<DateTimeOffset>(4),
                ExpiresAt = reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5),
                Source = reader.IsDBNull(6) ? null : JsonSerializer.Deserialize<SuppressionSource>(reader.GetString(6), JsonSerializerOptions.Web),
            });
        }
        return entries;
    }
}
