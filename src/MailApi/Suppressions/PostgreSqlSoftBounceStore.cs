using MailApi.Storage;

namespace MailApi.Suppressions;

/// <summary>
/// Soft-bounce streaks in the message database (schema version 7), one row per (key, address). Counting is one
/// <c>insert … on conflict … do update … returning</c>: PostgreSQL locks the row for it, so two instances counting the
/// same address at once each see the other's count.
/// </summary>
public sealed class PostgreSqlSoftBounceStore(PostgreSqlDatabase database) : ISoftBounceStore
{
    // In the update, s.* is the row as it was: a stale streak starts again at one; the same report changes nothing
    // (the where clause skips the update, and no row is returned).
    private const string Count = """
        insert into mailapi_soft_bounces as s (owner, address, count, first_at, last_at, last_report) values ($1, $2, 1, $3, $3, $4)
        on conflict (owner, address) do update set
            count = case when s.last_at < $5 then 1 else s.count + 1 end,
            first_at = case when s.last_at < $5 then excluded.first_at else s.first_at end,
            last_at = excluded.last_at,
            last_report = excluded.last_report
        where s.last_report <> excluded.last_report
        returning count, first_at
        """;

    public async Task<SoftBounceStreak?> CountAsync(string owner, string address, Guid reportId, DateTimeOffset now, DateTimeOffset staleBefore,
        CancellationToken cancellationToken)
    {
        await using var command = database.DataSource.CreateCommand(Count);
        command.Parameters.Add(new() { Value = owner });
        command.Parameters.Add(new() { Value = address });
        command.Parameters.Add(new() { Value = now });
        command.Parameters.Add(new() { Value = reportId });
        command.Parameters.Add(new() { Value = staleBefore });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new SoftBounceStreak(reader.GetInt32(0), reader.GetFieldValue<DateTimeOffset>(1)) : null;
    }

    public async Task EndAsync(string owner, string address, int reached, CancellationToken cancellationToken)
    {
        await using var command = database.DataSource.CreateCommand(
            "delete from mailapi_soft_bounces where owner = $1 and address = $2 and count >= $3");
        command.Parameters.Add(new() { Value = owner });
        command.Parameters.Add(new() { Value = address });
        command.Parameters.Add(new() { Value = reached });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<int> PurgeAsync(DateTimeOffset lastBefore, CancellationToken cancellationToken)
    {
        await using var command = database.DataSource.CreateCommand("delete from mailapi_soft_bounces where last_at < $1");
        command.Parameters.Add(new() { Value = lastBefore });
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
