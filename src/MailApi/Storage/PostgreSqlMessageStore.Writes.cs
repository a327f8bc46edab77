using System.Text.Json;
using MailApi.Grouping;
using Npgsql;
using NpgsqlTypes;

namespace MailApi.Storage;

/// <summary>
/// The PostgreSQL store's writes of whole messages: new ones in one multi-row insert, and compare-and-set updates in one
/// multi-row update, each shared by concurrent callers (<see cref="GroupedCalls{TItem, TResult}"/>). Both take the rows
/// as one array a column.
/// </summary>
public sealed partial class PostgreSqlMessageStore
{
    private const string Columns =
        "id, owner, status, created_at, updated_at, send_at, next_attempt_at, sender, recipients, tags, queue_id, worker, content_purged, version, doc, content_bytes";

    /// <summary>The rows, one array a column in <see cref="Columns"/>' order; a row's recipients and tags are each a jsonb array.</summary>
    private const string Rows =
        "unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[], $7::timestamptz[], $8::text[], "
        + "$9::jsonb[], $10::jsonb[], $11::text[], $12::text[], $13::boolean[], $14::bigint[], $15::jsonb[], $16::bigint[]";

    private const string InsertSql =
        "insert into mailapi_messages (" + Columns + ") select u.id, u.owner, u.status, u.created_at, u.updated_at, u.send_at, u.next_attempt_at, "
        + "u.sender, array(select jsonb_array_elements_text(u.recipients)), array(select jsonb_array_elements_text(u.tags)), u.queue_id, u.worker, "
        + "u.content_purged, u.version, u.doc, u.content_bytes from " + Rows + ") u(" + Columns + ")";

    private const string UpdateSql =
        "update mailapi_messages m set owner = u.owner, status = u.status, created_at = u.created_at, updated_at = u.updated_at, "
        + "send_at = u.send_at, next_attempt_at = u.next_attempt_at, sender = u.sender, recipients = array(select jsonb_array_elements_text(u.recipients)), "
        + "tags = array(select jsonb_array_elements_text(u.tags)), queue_id = u.queue_id, worker = u.worker, content_purged = u.content_purged, "
        + "version = u.version, doc = u.doc, content_bytes = u.content_bytes "
        + "from " + Rows + ", $17::bigint[]) u(" + Columns + ", expected) where m.id = u.id and m.version = u.expected returning m.id";

    public async Task<AddResult> AddAsync(IReadOnlyList<StoredMessage> messages, IdempotencyClaim? claim, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var stored = messages.Select(m => m with { Version = 1 }).ToList();
        if (claim is null)
        {
            // Answered once the statement holding this request's rows has committed; its wait is not cut short, as the
            // statement may commit whatever this caller does.
            return new AddResult(true, await _inserts.CallAsync(stored), null);
        }

        await using var connection = await Db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var expire = new NpgsqlCommand(
            "delete from mailapi_idempotency where owner = $1 and key = $2 and expires_at <= now()", connection, transaction))
        {
            expire.Parameters.Add(new() { Value = claim.Owner });
            expire.Parameters.Add(new() { Value = claim.Key });
            await expire.ExecuteNonQueryAsync(cancellationToken);
        }

        // A concurrent request with the same key waits on the primary key here until the first one commits.
        await using (var claimed = new NpgsqlCommand(
            "insert into mailapi_idempotency (owner, key, request_hash, message_ids, expires_at) values ($1, $2, $3, $4, $5) "
            + "on conflict (owner, key) do nothing", connection, transaction))
        {
            claimed.Parameters.Add(new() { Value = claim.Owner });
            claimed.Parameters.Add(new() { Value = claim.Key });
            claimed.Parameters.Add(new() { Value = claim.RequestHash });
            claimed.Parameters.Add(new() { Value = messages.Select(m => m.Id).ToArray() });
            claimed.Parameters.Add(new() { Value = claim.ExpiresAt });
            if (await claimed.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                return await EarlierClaimAsync(claim, transaction, cancellationToken);
            }
        }
        await using (var insert = new NpgsqlCommand(InsertSql, connection, transaction))
        {
            AddRows(insert.Parameters, stored);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return new AddResult(true, stored, null);
    }

    /// <summary>The messages of the unexpired claim with the same owner and key, which committed before this request's.</summary>
    private async Task<AddResult> EarlierClaimAsync(IdempotencyClaim claim, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        string hash;
        Guid[] ids;
        await using (var earlier = new NpgsqlCommand(
            "select request_hash, message_ids from mailapi_idempotency where owner = $1 and key = $2", transaction.Connection, transaction))
        {
            earlier.Parameters.Add(new() { Value = claim.Owner });
            earlier.Parameters.Add(new() { Value = claim.Key });
            await using var reader = await earlier.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            hash = reader.GetString(0);
            ids = reader.GetFieldValue<Guid[]>(1);
        }
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

    /// <remarks>
    /// Queued before this returns (<see cref="GroupedCalls{TItem, TResult}.CallAsync"/>); the wait for the shared
    /// statement is not cut short by <paramref name="cancellationToken"/>, since it may commit whatever this caller does.
    /// </remarks>
    public Task<StoredMessage?> TryUpdateAsync(StoredMessage updated, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return _updates.CallAsync(updated with { Version = updated.Version + 1 });
    }

    /// <summary>
    /// One statement for a round of requests without a claim: atomic on its own, all rows or none, so no transaction and
    /// no BEGIN and COMMIT round trips. Should it fail for anything but an outage (a duplicate id), each request is tried
    /// alone, so one request's rows never fail another's.
    /// </summary>
    private static async Task<Func<IReadOnlyList<StoredMessage>, IReadOnlyList<StoredMessage>>> InsertRequestsAsync(
        NpgsqlDataSource db, IReadOnlyList<IReadOnlyList<StoredMessage>> requests)
    {
        try
        {
            await InsertAsync(db, [.. requests.SelectMany(r => r)]);
            return request => request;
        }
        catch (Exception ex) when (requests.Count > 1 && !StorageOutage.Is(ex))
        {
            return await EachPart.ServeAsync(requests.Select(r => (IReadOnlyList<IReadOnlyList<StoredMessage>>)[r]), alone => InsertAsync(db, alone[0]), r => r);
        }
    }

    private static async Task InsertAsync(NpgsqlDataSource db, IReadOnlyList<StoredMessage> rows)
    {
        await using var insert = db.CreateCommand(InsertSql);
        AddRows(insert.Parameters, rows);
        await insert.ExecuteNonQueryAsync(CancellationToken.None);
    }

    /// <summary>
    /// One statement for a round of compare-and-sets: each row written only if its stored version is the one before its
    /// new one. Rows go in id order, the order <see cref="TakeQueuedAsync"/>'s index scan locks them in, so two
    /// statements that lock the same rows take turns instead of deadlocking.
    /// </summary>
    private static async Task<Func<StoredMessage, StoredMessage?>> UpdateRowsAsync(NpgsqlDataSource db, IReadOnlyList<StoredMessage> rows)
    {
        var ordered = rows.OrderBy(r => r.Id).ToList();
        await using var command = db.CreateCommand(UpdateSql);
        AddRows(command.Parameters, ordered);
        command.Parameters.Add(new() { Value = ordered.Select(r => r.Version - 1).ToArray() });
        var written = new HashSet<Guid>();
        await using var reader = await command.ExecuteReaderAsync(CancellationToken.None);
        while (await reader.ReadAsync(CancellationToken.None))
        {
            written.Add(reader.GetGuid(0));
        }
        return next => written.Contains(next.Id) ? next : null;
    }

    private static void AddRows(NpgsqlParameterCollection p, IReadOnlyList<StoredMessage> rows)
    {
        void Add<T>(Func<StoredMessage, T> column, NpgsqlDbType type) =>
            p.Add(new() { Value = rows.Select(column).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | type });
        Add(m => m.Id, NpgsqlDbType.Uuid);
        Add(m => m.Owner, NpgsqlDbType.Text);
        Add(m => m.Status.Name(), NpgsqlDbType.Text);
        Add(m => m.CreatedAt, NpgsqlDbType.TimestampTz);
        Add(m => m.UpdatedAt, NpgsqlDbType.TimestampTz);
        Add(m => m.SendAt, NpgsqlDbType.TimestampTz);
        Add(m => m.NextAttemptAt, NpgsqlDbType.TimestampTz);
        Add(m => m.Sender.ToLowerInvariant(), NpgsqlDbType.Text);
        Add(m => JsonSerializer.Serialize(m.Recipients.Select(r => r.Address.ToLowerInvariant()), Json), NpgsqlDbType.Jsonb);
        Add(m => JsonSerializer.Serialize(m.Content.Tags, Json), NpgsqlDbType.Jsonb);
        Add(m => m.QueueId, NpgsqlDbType.Text);
        Add(m => m.Worker, NpgsqlDbType.Text);
        Add(m => m.ContentPurged, NpgsqlDbType.Boolean);
        Add(m => m.Version, NpgsqlDbType.Bigint);
        Add(m => JsonSerializer.Serialize(m, Json), NpgsqlDbType.Jsonb);
        Add(m => m.ContentBytes, NpgsqlDbType.Bigint);
    }
}
