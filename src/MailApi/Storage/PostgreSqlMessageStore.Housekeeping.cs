
namespace MailApi.Storage;

/// <summary>What the orphan sweep, the heartbeat, retention and the readiness check ask of the PostgreSQL store.</summary>
public sealed partial class PostgreSqlMessageStore
{
    public async Task<IReadOnlyList<Guid>> FindOrphansAsync(DateTimeOffset deadBefore, DateTimeOffset dueBefore, string self, IReadOnlyCollection<Guid> inFlight,
        int limit, CancellationToken cancellationToken)
    {
        await using var command = Db.CreateCommand(
            "select m.id from mailapi_messages m left join mailapi_instances i on i.id = m.worker "
            + $"where m.status in {PendingIn} and ("
            + " (m.status = $6 and m.worker = $4 and not (m.id = any($5)))"
            + " or (m.status = $6 and m.worker is distinct from $4 and (i.heartbeat_at is null or i.heartbeat_at < $1))"
            + " or (m.status = $7 and m.updated_at < $2)"
            + " or (m.status = $8 and m.next_attempt_at < $2)"
            + " or (m.status = $9 and m.send_at < $2)) limit $3");
        command.Parameters.Add(new() { Value = deadBefore });
        command.Parameters.Add(new() { Value = dueBefore });
        command.Parameters.Add(new() { Value = limit });
        command.Parameters.Add(new() { Value = self });
        command.Parameters.Add(new() { Value = inFlight.ToArray() });
        foreach (var status in (ReadOnlySpan<MessageStatus>)[MessageStatus.Sending, MessageStatus.Queued, MessageStatus.Deferred, MessageStatus.Scheduled])
        {
            command.Parameters.Add(new() { Value = status.Name() });
        }
        var ids = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetGuid(0));
        }
        return ids;
    }

    public async Task HeartbeatAsync(string instance, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = Db.CreateCommand(
            "insert into mailapi_instances (id, heartbeat_at) values ($1, $2) on conflict (id) do update set heartbeat_at = excluded.heartbeat_at");
        command.Parameters.Add(new() { Value = instance });
        command.Parameters.Add(new() { Value = now });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<DateTimeOffset?> LastHeartbeatAsync(string instance, CancellationToken cancellationToken)
    {
        await using var command = Db.CreateCommand("select heartbeat_at from mailapi_instances where id = $1");
        command.Parameters.Add(new() { Value = instance });
        return await command.ExecuteScalarAsync(cancellationToken) is DateTime at ? new DateTimeOffset(at, TimeSpan.Zero) : null;
    }

    public async Task<int> PurgeAsync(DateTimeOffset contentBefore, DateTimeOffset deleteBefore, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var delete = Db.CreateCommand($"delete from mailapi_messages where status in {FinalIn} and updated_at < $1");
        delete.Parameters.Add(new() { Value = deleteBefore });
        var changed = await delete.ExecuteNonQueryAsync(cancellationToken);

        await using (var claims = Db.CreateCommand("delete from mailapi_idempotency where expires_at <= $1"))
        {
            claims.Parameters.Add(new() { Value = now });
            await claims.ExecuteNonQueryAsync(cancellationToken);
        }

        // Content is dropped in the document itself, a page at a time, each by compare-and-set.
        while (true)
        {
            await using var select = Db.CreateCommand(
                $"select doc, version from mailapi_messages where status in {FinalIn} and updated_at < $1 and not content_purged limit $2");
            select.Parameters.Add(new() { Value = contentBefore });
            select.Parameters.Add(new() { Value = PurgePageSize });
            var page = new List<StoredMessage>();
            await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    page.Add(Read(reader));
                }
            }
            if (page.Count == 0)
            {
                return changed;
            }
            foreach (var message in page)
            {
                if (await TryUpdateAsync(MessageOrder.WithoutContent(message), cancellationToken) is not null)
                {
                    changed++;
                }
            }
        }
    }

    public async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        await using var command = Db.CreateCommand("select 1");
        return await command.ExecuteScalarAsync(cancellationToken) is 1;
    }
}
