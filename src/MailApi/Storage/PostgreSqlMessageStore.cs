using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Npgsql;
using NpgsqlTypes;

namespace MailApi.Storage;

/// <summary>
/// The durable store: every instance on one database sees every message. Each message is a jsonb document with
/// the columns filters and the job need beside it; updates are compare-and-set on <c>version</c>.
/// </summary>
public sealed partial class PostgreSqlMessageStore(PostgreSqlDatabase database) : IMessageStore
{
    private static readonly JsonSerializerOptions Json = CreateJson();
    private static readonly string[] PendingStatuses = [.. MessageStatuses.Pending.Select(s => s.Name())];
    private static readonly string[] FinalStatuses = [.. MessageStatuses.Final.Select(s => s.Name())];

    /// <summary>How far a clock may have stepped back and a message still be found by <c>createdBefore</c> (see ListAsync).</summary>
    private static readonly TimeSpan ClockStepMargin = TimeSpan.FromHours(1);

    /// <summary>Retention drops content a page of messages at a time, each by compare-and-set.</summary>
    private const int PurgePageSize = 500;

    private NpgsqlDataSource Db => database.DataSource;

    public async Task<AddResult> AddAsync(IReadOnlyList<StoredMessage> messages, IdempotencyClaim? claim, CancellationToken cancellationToken)
    {
        await using var connection = await Db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (claim is not null)
        {
            await using var expire = new NpgsqlCommand(
                "delete from mailapi_idempotency where owner = $1 and key = $2 and expires_at <= now()", connection, transaction);
            expire.Parameters.Add(new() { Value = claim.Owner });
            expire.Parameters.Add(new() { Value = claim.Key });
            await expire.ExecuteNonQueryAsync(cancellationToken);

            // A concurrent request with the same key waits on the primary key here until the first one commits.
            await using var insert = new NpgsqlCommand(
                "insert into mailapi_idempotency (owner, key, request_hash, message_ids, expires_at) values ($1, $2, $3, $4, $5) "
                + "on conflict (owner, key) do nothing", connection, transaction);
            insert.Parameters.Add(new() { Value = claim.Owner });
            insert.Parameters.Add(new() { Value = claim.Key });
            insert.Parameters.Add(new() { Value = claim.RequestHash });
            insert.Parameters.Add(new() { Value = messages.Select(m => m.Id).ToArray() });
            insert.Parameters.Add(new() { Value = claim.ExpiresAt });
            if (await insert.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                await using var earlier = new NpgsqlCommand(
                    "select request_hash, message_ids from mailapi_idempotency where owner = $1 and key = $2", connection, transaction);
                earlier.Parameters.Add(new() { Value = claim.Owner });
                earlier.Parameters.Add(new() { Value = claim.Key });
                await using var reader = await earlier.ExecuteReaderAsync(cancellationToken);
                await reader.ReadAsync(cancellationToken);
                var hash = reader.GetString(0);
                var ids = reader.GetFieldValue<Guid[]>(1);
                await reader.DisposeAsync();
                await transaction.RollbackAsync(cancellationToken);
                var existing = new List<StoredMessage>();
                foreach (var id in ids)
                {
                    if (await FindAsync(id, cancellationToken) is { } message)
                    {
                        existing.Add(message);
                    }
                }
                return new AddResult(false, existing, hash);
            }
        }

        var stored = messages.Select(m => m with { Version = 1 }).ToList();
        await using (var batch = new NpgsqlBatch(connection, transaction))
        {
            foreach (var message in stored)
            {
                var command = new NpgsqlBatchCommand(
                    "insert into mailapi_messages (id, owner, status, created_at, updated_at, send_at, next_attempt_at, sender, recipients, tags, "
                    + "queue_id, worker, content_purged, version, doc, content_bytes) "
                    + "values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)");
                AddColumns(command.Parameters, message);
                batch.BatchCommands.Add(command);
            }
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return new AddResult(true, stored, null);
    }

    public async Task<StoredMessage?> FindAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var command = Db.CreateCommand("select doc, version from mailapi_messages where id = $1");
        command.Parameters.Add(new() { Value = id });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    public async Task<IReadOnlyList<StoredMessage>> FindByQueueIdAsync(string queueId, DateTimeOffset sentAfter, CancellationToken cancellationToken)
    {
        await using var command = Db.CreateCommand("select doc, version from mailapi_messages where queue_id = $1 and updated_at >= $2");
        command.Parameters.Add(new() { Value = queueId });
        command.Parameters.Add(new() { Value = sentAfter });
        var found = new List<StoredMessage>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            found.Add(Read(reader));
        }
        return found.Where(m => m.SentAt >= sentAfter).ToList();
    }

    public async Task<StoredMessage?> TryUpdateAsync(StoredMessage updated, CancellationToken cancellationToken)
    {
        var next = updated with { Version = updated.Version + 1 };
        await using var command = Db.CreateCommand(
            "update mailapi_messages set owner = $2, status = $3, created_at = $4, updated_at = $5, send_at = $6, next_attempt_at = $7, "
            + "sender = $8, recipients = $9, tags = $10, queue_id = $11, worker = $12, content_purged = $13, version = $14, doc = $15, "
            + "content_bytes = $16 where id = $1 and version = $17");
        AddColumns(command.Parameters, next);
        command.Parameters.Add(new() { Value = updated.Version });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1 ? next : null;
    }

    /// <remarks>
    /// One statement for the whole job: the columns are set and the document patched in place with the same four fields a
    /// compare-and-set of <see cref="StoredMessage.TakenBy"/> would write, so a job of ten messages costs one round trip and
    /// one commit to take them instead of ten reads and ten writes. Row locks make two takers of one message take turns; the
    /// second finds it no longer queued.
    /// </remarks>
    public async Task<IReadOnlyList<StoredMessage>> TakeQueuedAsync(IReadOnlyList<Guid> ids, string worker, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (ids.Count == 0)
        {
            return [];
        }
        await using var command = Db.CreateCommand(
            "update mailapi_messages set status = $3, worker = $4, updated_at = $5, next_attempt_at = null, version = version + 1, doc = doc || $6 "
            + "where id = any($1) and status = $2 returning doc, version");
        command.Parameters.Add(new() { Value = ids.ToArray() });
        command.Parameters.Add(new() { Value = MessageStatus.Queued.Name() });
        command.Parameters.Add(new() { Value = MessageStatus.Sending.Name() });
        command.Parameters.Add(new() { Value = worker });
        command.Parameters.Add(new() { Value = now });
        var patch = new { Status = MessageStatus.Sending, Worker = worker, UpdatedAt = now, NextAttemptAt = (DateTimeOffset?)null };
        command.Parameters.Add(new() { Value = JsonSerializer.Serialize(patch, Json), NpgsqlDbType = NpgsqlDbType.Jsonb });
        var taken = new List<StoredMessage>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            taken.Add(Read(reader));
        }
        return taken;
    }

    public async Task<MessagePage> ListAsync(MessageQuery query, CancellationToken cancellationToken)
    {
        var sql = new StringBuilder("select doc, version from mailapi_messages where owner = $1");
        var parameters = new List<object> { query.Owner };
        void Filter(string condition, object? value)
        {
            if (value is not null)
            {
                parameters.Add(value);
                sql.Append(" and ").Append(condition.Replace("$?", "$" + parameters.Count));
            }
        }
        Filter("status = $?", query.Status is { } s ? s.Name() : null);
        Filter("tags @> array[$?]", query.Tag);
        Filter("sender = $?", query.From?.ToLowerInvariant());
        Filter("recipients @> array[$?]", query.To?.ToLowerInvariant());
        Filter("queue_id = $?", query.QueueId);
        Filter("created_at > $?", query.CreatedAfter?.ToUniversalTime());
        Filter("created_at < $?", query.CreatedBefore?.ToUniversalTime());
        // An id is a UUIDv7 of its creation time (MessageOrder.NewId): never of an earlier millisecond, and later only
        // when the clock stepped back. So a time range is a range of the primary key too, and the scan starts there
        // instead of reading every newer message (a range a day old on 100,000 messages read them all).
        Filter("id >= $?", query.CreatedAfter is { } after ? MessageOrder.FirstIdAt(after) : null);
        Filter("id < $?", query.CreatedBefore is { } before ? MessageOrder.FirstIdAt(before + ClockStepMargin) : null);
        Filter("id < $?", query.Before);
        parameters.Add(query.Limit + 1);
        sql.Append(" order by id desc limit $").Append(parameters.Count);

        await using var command = Db.CreateCommand(sql.ToString());
        foreach (var value in parameters)
        {
            command.Parameters.Add(new() { Value = value });
        }
        var items = new List<StoredMessage>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(Read(reader));
        }
        return new MessagePage(items.Take(query.Limit).ToList(), items.Count > query.Limit);
    }

    public async Task<Backlog> BacklogAsync(CancellationToken cancellationToken)
    {
        await using var command = Db.CreateCommand(
            "select count(*), coalesce(sum(content_bytes), 0)::bigint from mailapi_messages where status = any($1)");
        command.Parameters.Add(new() { Value = PendingStatuses });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new Backlog(reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <remarks>Read from the partial index of unfinished messages; the gauge calls it every few seconds, never per scrape.</remarks>
    public async Task<IReadOnlyDictionary<MessageStatus, long>> CountPendingAsync(CancellationToken cancellationToken)
    {
        await using var command = Db.CreateCommand("select status, count(*) from mailapi_messages where status = any($1) group by status");
        command.Parameters.Add(new() { Value = PendingStatuses });
        var counts = MessageStatuses.Pending.ToDictionary(s => s, _ => 0L);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            counts[MessageStatuses.Pending.First(s => s.Name() == reader.GetString(0))] = reader.GetInt64(1);
        }
        return counts;
    }

    private static void AddColumns(NpgsqlParameterCollection p, StoredMessage m)
    {
        p.Add(new() { Value = m.Id });
        p.Add(new() { Value = m.Owner });
        p.Add(new() { Value = m.Status.Name() });
        p.Add(new() { Value = m.CreatedAt });
        p.Add(new() { Value = m.UpdatedAt });
        p.Add(new() { Value = (object?)m.SendAt ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        p.Add(new() { Value = (object?)m.NextAttemptAt ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        p.Add(new() { Value = m.Sender.ToLowerInvariant() });
        p.Add(new() { Value = m.Recipients.Select(r => r.Address.ToLowerInvariant()).ToArray() });
        p.Add(new() { Value = m.Content.Tags.ToArray() });
        p.Add(new() { Value = (object?)m.QueueId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        p.Add(new() { Value = (object?)m.Worker ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        p.Add(new() { Value = m.ContentPurged });
        p.Add(new() { Value = m.Version });
        p.Add(new() { Value = JsonSerializer.Serialize(m, Json), NpgsqlDbType = NpgsqlDbType.Jsonb });
        p.Add(new() { Value = m.ContentBytes });
    }

    private static StoredMessage Read(NpgsqlDataReader reader) =>
        JsonSerializer.Deserialize<StoredMessage>(reader.GetString(0), Json)! with { Version = reader.GetInt64(1) };

    /// <summary>
    /// The stored document's JSON, the store's own (the API may change its JSON without touching stored rows): camelCase,
    /// enums as snake_case strings, as every row so far was written.
    /// </summary>
    private static JsonSerializerOptions CreateJson() => new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
    };
}
