using System.Text.Json;
using System.Text.Json.Serialization;
using MailApi.Storage;
using Npgsql;
using NpgsqlTypes;

namespace MailApi.Webhooks;

/// <summary>
/// Endpoints and deliveries in the message database (schema version 3): each a jsonb document with the columns queries
/// need beside it (and an index on the message id inside, version 4), updated by compare-and-set on <c>version</c>. A
/// delivery stored here survives a crash of the service; a crash of the database may lose the last writes of deliveries,
/// which are then repeated (<see cref="WithoutWaitingForTheDisk"/>).
/// </summary>
public sealed class PostgreSqlWebhookStore(PostgreSqlDatabase database) : IWebhookStore
{
    /// <summary>The store's own JSON, as for messages: camelCase, enums as snake_case strings.</summary>
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
    };

    private static readonly string[] PendingStatuses = [.. MessageStatuses.Pending.Select(s => s.Name())];
    private static readonly string[] FinalStatuses = [.. MessageStatuses.Final.Select(s => s.Name())];

    private NpgsqlDataSource Db => database.DataSource;

    /// <summary>
    /// A batch whose writes commit without waiting for the disk: <c>synchronous_commit</c> is off for the batch's own
    /// (implicit) transaction only, never for the pooled connection. For deliveries and dispatch marks, the last of which a
    /// database crash may lose without breaking a promise: a lost one repeats a webhook (at least once; receivers tell
    /// repeats by <c>webhook-id</c>) or a dispatch (which only fills gaps). Hangfire's jobs are committed the same way;
    /// endpoints and messages wait for the disk, so a subscribed endpoint adds no wait for the disk to a message's own.
    /// </summary>
    private NpgsqlBatch WithoutWaitingForTheDisk()
    {
        var batch = Db.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("set local synchronous_commit = off"));
        return batch;
    }

    public async Task AddEndpointAsync(StoredEndpoint endpoint, CancellationToken cancellationToken)
    {
        var stored = endpoint with { Version = 1 };
        await using var command = Db.CreateCommand("insert into mailapi_webhook_endpoints (id, owner, version, doc) values ($1, $2, $3, $4)");
        command.Parameters.Add(new() { Value = stored.Id });
        command.Parameters.Add(new() { Value = stored.Owner });
        command.Parameters.Add(new() { Value = stored.Version });
        command.Parameters.Add(Doc(stored));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<StoredEndpoint?> FindEndpointAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var command = Db.CreateCommand("select doc, version from mailapi_webhook_endpoints where id = $1");
        command.Parameters.Add(new() { Value = id });
        return (await ReadAsync<StoredEndpoint>(command, (e, v) => e with { Version = v }, cancellationToken)).SingleOrDefault();
    }

    public async Task<IReadOnlyList<StoredEndpoint>> ListEndpointsAsync(string owner, CancellationToken cancellationToken)
    {
        await using var command = Db.CreateCommand("select doc, version from mailapi_webhook_endpoints where owner = $1 order by id");
        command.Parameters.Add(new() { Value = owner });
        return await ReadAsync<StoredEndpoint>(command, (e, v) => e with { Version = v }, cancellationToken);
    }

    public async Task<IReadOnlySet<string>> OwnersAsync(CancellationToken cancellationToken)
    {
        await using var command = Db.CreateCommand("select distinct owner from mailapi_webhook_endpoints");
        var owners = new HashSet<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            owners.Add(reader.GetString(0));
        }
        return owners;
    }

    public async Task<StoredEndpoint?> TryUpdateEndpointAsync(StoredEndpoint updated, CancellationToken cancellationToken)
    {
        var next = updated with { Version = updated.Version + 1 };
        await using var command = Db.CreateCommand("update mailapi_webhook_endpoints set version = $2, doc = $3 where id = $1 and version = $4");
        command.Parameters.Add(new() { Value = next.Id });
        command.Parameters.Add(new() { Value = next.Version });
        command.Parameters.Add(Doc(next));
        command.Parameters.Add(new() { Value = updated.Version });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1 ? next : null;
    }

    public async Task<bool> DeleteEndpointAsync(Guid id, CancellationToken cancellationToken)
    {
        // Its deliveries go with it (on delete cascade).
        await using var command = Db.CreateCommand("delete from mailapi_webhook_endpoints where id = $1");
        command.Parameters.Add(new() { Value = id });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<IReadOnlyList<StoredDelivery>> AddDeliveriesAsync(IReadOnlyList<StoredDelivery> deliveries, CancellationToken cancellationToken)
    {
        var added = new List<StoredDelivery>();
        if (deliveries.Count == 0)
        {
            return added;
        }
        await using var batch = WithoutWaitingForTheDisk();
        var stored = deliveries.Select(d => d with { Version = 1 }).ToList();
        foreach (var delivery in stored)
        {
            // An endpoint deleted meanwhile takes no delivery (the select finds no row), instead of failing the whole batch.
            var command = new NpgsqlBatchCommand(
                "insert into mailapi_webhook_deliveries (id, endpoint_id, event_id, status, next_attempt_at, version, doc) "
                + "select $1, $2, $3, $4, $5, $6, $7 where exists (select 1 from mailapi_webhook_endpoints where id = $2) "
                + "on conflict (endpoint_id, event_id) do nothing");
            AddColumns(command.Parameters, delivery);
            batch.BatchCommands.Add(command);
        }
        await batch.ExecuteNonQueryAsync(cancellationToken);
        for (var i = 0; i < stored.Count; i++)
        {
            if (batch.BatchCommands[i + 1].RecordsAffected == 1)
            {
                added.Add(stored[i]);
            }
        }
        return added;
    }

    public async Task<StoredDelivery?> FindDeliveryAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var command = Db.CreateCommand("select doc, version from mailapi_webhook_deliveries where id = $1");
        command.Parameters.Add(new() { Value = id });
        return (await ReadAsync<StoredDelivery>(command, (d, v) => d with { Version = v }, cancellationToken)).SingleOrDefault();
    }

    public async Task<StoredDelivery?> TryUpdateDeliveryAsync(StoredDelivery updated, CancellationToken cancellationToken)
    {
        var next = updated with { Version = updated.Version + 1 };
        await using var batch = WithoutWaitingForTheDisk();
        var command = new NpgsqlBatchCommand(
            "update mailapi_webhook_deliveries set endpoint_id = $2, event_id = $3, status = $4, next_attempt_at = $5, version = $6, doc = $7 "
            + "where id = $1 and version = $8");
        AddColumns(command.Parameters, next);
        command.Parameters.Add(new() { Value = updated.Version });
        batch.BatchCommands.Add(command);
        await batch.ExecuteNonQueryAsync(cancellationToken);
        return command.RecordsAffected == 1 ? next : null;
    }

    public async Task<IReadOnlyList<StoredDelivery>> ListDeliveriesAsync(Guid endpointId, WebhookDeliveryStatus? status, Guid? before, int limit,
        CancellationToken cancellationToken)
    {
        await using var command = Db.CreateCommand(
            "select doc, version from mailapi_webhook_deliveries where endpoint_id = $1 and ($2::text is null or status = $2) "
            + "and ($3::uuid is null or id < $3) order by id desc limit $4");
        command.Parameters.Add(new() { Value = endpointId });
        command.Parameters.Add(new() { Value = (object?)status?.ToString().ToLowerInvariant() ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = (object?)before ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new() { Value = limit });
        return await ReadAsync<StoredDelivery>(command, (d, v) => d with { Version = v }, cancellationToken);
    }

    /// <remarks>Read from the partial index of pending deliveries; the gauge calls it every few seconds, never per scrape.</remarks>
    public async Task<long> CountPendingDeliveriesAsync(CancellationToken cancellationToken)
    {
        await using var command = Db.CreateCommand("select count(*) from mailapi_webhook_deliveries where status = 'pending'");
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<IReadOnlyList<StoredDelivery>> ListMessageDeliveriesAsync(Guid messageId, int limit, CancellationToken cancellationToken)
    {
        // The expression index of schema version 4 (doc->>'messageId', id) answers this without a scan.
        await using var command = Db.CreateCommand(
            "select doc, version from mailapi_webhook_deliveries where doc->>'messageId' = $1 order by id limit $2");
        command.Parameters.Add(new() { Value = messageId.ToString() });
        command.Parameters.Add(new() { Value = limit });
        return await ReadAsync<StoredDelivery>(command, (d, v) => d with { Version = v }, cancellationToken);
    }

    public async Task<IReadOnlyList<Guid>> FindDueDeliveriesAsync(DateTimeOffset dueBefore, int limit, CancellationToken cancellationToken)
    {
        await using var command = Db.CreateCommand(
            "select id from mailapi_webhook_deliveries where status = 'pending' and next_attempt_at < $1 limit $2");
        command.Parameters.Add(new() { Value = dueBefore });
        command.Parameters.Add(new() { Value = limit });
        var ids = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetGuid(0));
        }
        return ids;
    }

    public async Task MarkDispatchedAsync(Guid messageId, int sequence, CancellationToken cancellationToken)
    {
        await using var batch = WithoutWaitingForTheDisk();
        var command = new NpgsqlBatchCommand(
            "insert into mailapi_webhook_dispatched (message_id, sequence) values ($1, $2) "
            + "on conflict (message_id) do update set sequence = greatest(mailapi_webhook_dispatched.sequence, excluded.sequence)");
        command.Parameters.Add(new() { Value = messageId });
        command.Parameters.Add(new() { Value = sequence });
        batch.BatchCommands.Add(command);
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <remarks>
    /// Reads the documents of the window's messages, but only of owners with endpoints; the status conditions let the
    /// pending and finished partial indexes of the message table find the window.
    /// </remarks>
    public async Task<IReadOnlyList<Guid>> FindUndispatchedAsync(DateTimeOffset updatedAfter, DateTimeOffset updatedBefore, int limit,
        CancellationToken cancellationToken)
    {
        await using var command = Db.CreateCommand(
            "select m.id from mailapi_messages m left join mailapi_webhook_dispatched d on d.message_id = m.id "
            + "where (m.status = any($4) or m.status = any($5)) and m.updated_at > $1 and m.updated_at < $2 "
            + "and m.owner in (select owner from mailapi_webhook_endpoints) "
            + "and jsonb_array_length(coalesce(m.doc -> 'events', '[]'::jsonb)) > coalesce(d.sequence, 0) limit $3");
        command.Parameters.Add(new() { Value = updatedAfter });
        command.Parameters.Add(new() { Value = updatedBefore });
        command.Parameters.Add(new() { Value = limit });
        command.Parameters.Add(new() { Value = PendingStatuses });
        command.Parameters.Add(new() { Value = FinalStatuses });
        var ids = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetGuid(0));
        }
        return ids;
    }

    /// <remarks>Ids are UUIDv7, so "created before" is "id below the first id of that millisecond": the primary key finds them.</remarks>
    public async Task<int> PurgeDeliveriesAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken)
    {
        await using var command = Db.CreateCommand("delete from mailapi_webhook_deliveries where id < $1 and status <> 'pending'");
        command.Parameters.Add(new() { Value = MessageOrder.FirstIdAt(createdBefore) });
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void AddColumns(NpgsqlParameterCollection p, StoredDelivery d)
    {
        p.Add(new() { Value = d.Id });
        p.Add(new() { Value = d.EndpointId });
        p.Add(new() { Value = d.EventId });
        p.Add(new() { Value = d.Status.ToString().ToLowerInvariant() });
        p.Add(new() { Value = (object?)d.NextAttemptAt ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        p.Add(new() { Value = d.Version });
        p.Add(Doc(d));
    }

    private static NpgsqlParameter Doc<T>(T value) => new() { Value = JsonSerializer.Serialize(value, Json), NpgsqlDbType = NpgsqlDbType.Jsonb };

    private static async Task<IReadOnlyList<T>> ReadAsync<T>(NpgsqlCommand command, Func<T, long, T> withVersion, CancellationToken cancellationToken)
    {
        var items = new List<T>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(withVersion(JsonSerializer.Deserialize<T>(reader.GetString(0), Json)!, reader.GetInt64(1)));
        }
        return items;
    }
}
