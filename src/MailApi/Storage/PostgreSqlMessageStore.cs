using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using MailApi.Grouping;
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
    /// <summary>
    /// The unfinished and the final statuses as SQL literals, <c>('queued', …)</c>, not as a parameter: the partial indexes
    /// <c>mailapi_messages_pending</c> and <c>_finished</c> are for exactly these, and the generic plan PostgreSQL makes for
    /// a prepared <c>status = any($1)</c> cannot know that, so it read the whole table (80 ms a backlog count in the bench
    /// with about 50,000 messages stored, 12 % of the database's time a message).
    /// </summary>
    private static readonly string PendingIn = SqlList(MessageStatuses.Pending);
    private static readonly string FinalIn = SqlList(MessageStatuses.Final);

    private static string SqlList(IEnumerable<MessageStatus> statuses) => $"({string.Join(", ", statuses.Select(s => $"'{s.Name()}'"))})";

    /// <summary>How far a clock may have stepped back and a message still be found by <c>createdBefore</c> (see ListAsync).</summary>
    private static readonly TimeSpan ClockStepMargin = TimeSpan.FromHours(1);

    /// <summary>Retention drops content a page of messages at a time, each by compare-and-set.</summary>
    private const int PurgePageSize = 500;

    private NpgsqlDataSource Db => database.DataSource;

    /// <summary>New messages without an idempotency claim, each request's all or none, concurrent requests in one statement.</summary>
    private readonly GroupedCalls<IReadOnlyList<StoredMessage>, IReadOnlyList<StoredMessage>> _inserts =
        new(request => request.Select(m => m.Id), requests => InsertRequestsAsync(database.DataSource, requests));

    /// <summary>Every compare-and-set, each at its new version; concurrent ones in one statement.</summary>
    private readonly GroupedCalls<StoredMessage, StoredMessage?> _updates = new(next => [next.Id], rows => UpdateRowsAsync(database.DataSource, rows));

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
        // instead of reading every newer message.
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
            $"select count(*), coalesce(sum(content_bytes), 0)::bigint from mailapi_messages where status in {PendingIn}");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new Backlog(reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <remarks>Read from the partial index of unfinished messages; the gauge calls it every few seconds, never per scrape.</remarks>
    public async Task<IReadOnlyDictionary<MessageStatus, long>> CountPendingAsync(CancellationToken cancellationToken)
    {
        await using var command = Db.CreateCommand($"select status, count(*) from mailapi_messages where status in {PendingIn} group by status");
        var counts = MessageStatuses.Pending.ToDictionary(s => s, _ => 0L);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            counts[MessageStatuses.Pending.First(s => s.Name() == reader.GetString(0))] = reader.GetInt64(1);
        }
        return counts;
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
