using System.Text.Json;
using System.Text.Json.Serialization;
using MailApi.Storage;
using Npgsql;
using NpgsqlTypes;

namespace MailApi.Bounces;

/// <summary>The report log in the message database (schema versions 6 and 8): a jsonb document per report, its raw mail beside it.</summary>
public sealed class PostgreSqlBounceStore(PostgreSqlDatabase database) : IBounceStore
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
    };

    private NpgsqlDataSource Db => database.DataSource;

    public async Task<(StoredReport Report, bool Added)> AddAsync(StoredReport report, byte[] raw, CancellationToken cancellationToken)
    {
        await using var command = Db.CreateCommand(
            "insert into mailapi_bounce_reports (id, identity, received_at, matched, doc, raw, source) values ($1, $2, $3, $4, $5, $6, $7) "
            + "on conflict (identity) do nothing");
        command.Parameters.Add(new() { Value = report.Id });
        command.Parameters.Add(new() { Value = report.Identity });
        command.Parameters.Add(new() { Value = report.ReceivedAt });
        command.Parameters.Add(new() { Value = report.MatchedBy is not null });
        command.Parameters.Add(new() { Value = JsonSerializer.Serialize(report, Json), NpgsqlDbType = NpgsqlDbType.Jsonb });
        command.Parameters.Add(new() { Value = raw });
        command.Parameters.Add(new() { Value = (object?)report.Source ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        if (await command.ExecuteNonQueryAsync(cancellationToken) == 1)
        {
            return (report, true);
        }
        return (await FindByIdentityAsync(report.Identity, cancellationToken) ?? report, false);
    }

    public Task<StoredReport?> FindByIdentityAsync(string identity, CancellationToken cancellationToken) =>
        FindOneAsync("identity = $1", identity, cancellationToken);

    public Task<StoredReport?> FindBySourceAsync(string source, CancellationToken cancellationToken) =>
        FindOneAsync("source = $1", source, cancellationToken);

    public Task<StoredReport?> FindAsync(Guid id, CancellationToken cancellationToken) => FindOneAsync("id = $1", id, cancellationToken);

    public async Task<byte[]?> RawAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var command = Db.CreateCommand("select raw from mailapi_bounce_reports where id = $1");
        command.Parameters.Add(new() { Value = id });
        return await command.ExecuteScalarAsync(cancellationToken) as byte[];
    }

    public async Task<(IReadOnlyList<StoredReport> Items, bool HasMore)> ListAsync(bool? matched, Guid? before, int limit, CancellationToken cancellationToken)
    {
        await using var command = Db.CreateCommand(
            "select doc from mailapi_bounce_reports where ($1::boolean is null or matched = $1) and ($2::uuid is null or id < $2) order by id desc limit $3");
        command.Parameters.Add(new() { Value = (object?)matched ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Boolean });
        command.Parameters.Add(new() { Value = (object?)before ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new() { Value = limit + 1 });
        var page = await ReadAsync(command, cancellationToken);
        return (page.Take(limit).ToList(), page.Count > limit);
    }

    public async Task<int> PurgeAsync(DateTimeOffset receivedBefore, CancellationToken cancellationToken)
    {
        await using var command = Db.CreateCommand("delete from mailapi_bounce_reports where received_at < $1");
        command.Parameters.Add(new() { Value = receivedBefore });
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<StoredReport?> FindOneAsync(string where, object key, CancellationToken cancellationToken)
    {
        await using var command = Db.CreateCommand($"select doc from mailapi_bounce_reports where {where}");
        command.Parameters.Add(new() { Value = key });
        return (await ReadAsync(command, cancellationToken)).SingleOrDefault();
    }

    private static async Task<List<StoredReport>> ReadAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var reports = new List<StoredReport>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            reports.Add(JsonSerializer.Deserialize<StoredReport>(reader.GetString(0), Json)!);
        }
        return reports;
    }
}
