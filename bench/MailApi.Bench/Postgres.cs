using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;

namespace MailApi.Bench;

/// <summary>
/// The bench's own PostgreSQL: a private cluster made with initdb under /tmp, on a free port of 127.0.0.1, with the
/// defaults initdb writes (fsync on, synchronous_commit on, max_connections 100) plus
/// <c>shared_preload_libraries=pg_stat_statements</c>. initdb and pg_ctl run as the postgres user when we are root
/// (they refuse root). One fresh database per service run or ceiling variant; the cluster is removed at the end.
/// </summary>
internal sealed class BenchPostgres : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _dir;
    private int _databases;

    private BenchPostgres(string bin, string dir, int port)
    {
        _bin = bin;
        _dir = dir;
        Port = port;
    }

    public int Port { get; }

    public string Version { get; private set; } = "";

    /// <summary>The newest /usr/lib/postgresql/*/bin with initdb, or null (bench/run.sh installs <c>postgresql</c>).</summary>
    public static string? FindBin() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin"))
                .Where(b => File.Exists(Path.Combine(b, "initdb"))).OrderBy(b => b, StringComparer.Ordinal).LastOrDefault()
            : null;

    public static async Task<BenchPostgres> StartAsync()
    {
        var bin = FindBin() ?? throw new InvalidOperationException("PostgreSQL is not installed: apt-get install postgresql (bench/run.sh does)");
        var dir = Path.Combine(Path.GetTempPath(), $"mailapi-bench-pg-{Environment.ProcessId}");
        var port = FreePort.Get();
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
        Directory.CreateDirectory(dir);
        var pg = new BenchPostgres(bin, dir, port);
        await Sh($"chown postgres:postgres '{dir}'", asPostgres: false, allowFailure: true);
        await Sh($"'{bin}/initdb' -D '{dir}/data' -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 > '{dir}/initdb.log' 2>&1");
        await Sh($"'{bin}/pg_ctl' -D '{dir}/data' -l '{dir}/postgres.log' -w -t 60 "
            + $"-o \"-c listen_addresses=127.0.0.1 -p {port} -k '{dir}' -c shared_preload_libraries=pg_stat_statements\" start > /dev/null");
        await using var source = NpgsqlDataSource.Create(pg.ConnectionString("postgres"));
        await using var version = source.CreateCommand("select current_setting('server_version') || ', fsync ' || current_setting('fsync') "
            + "|| ', synchronous_commit ' || current_setting('synchronous_commit') || ', max_connections ' || current_setting('max_connections') "
            + "|| ', shared_buffers ' || current_setting('shared_buffers')");
        pg.Version = (string)(await version.ExecuteScalarAsync())!;
        return pg;
    }

    public string ConnectionString(string database) => $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database}";

    /// <summary>A new empty database with pg_stat_statements; gives its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix)
    {
        var name = $"{prefix}_{Interlocked.Increment(ref _databases)}";
        await using (var source = NpgsqlDataSource.Create(ConnectionString("postgres")))
        await using (var create = source.CreateCommand($"create database {name}"))
        {
            await create.ExecuteNonQueryAsync();
        }
        await using (var source = NpgsqlDataSource.Create(ConnectionString(name)))
        await using (var extension = source.CreateCommand("create extension if not exists pg_stat_statements"))
        {
            await extension.ExecuteNonQueryAsync();
        }
        NpgsqlConnection.ClearAllPools();
        return ConnectionString(name);
    }

    public async ValueTask DisposeAsync()
    {
        await Sh($"'{_bin}/pg_ctl' -D '{_dir}/data' -m immediate -w stop > /dev/null 2>&1", allowFailure: true);
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static async Task Sh(string command, bool asPostgres = true, bool allowFailure = false)
    {
        var root = Environment.UserName == "root";
        var (code, output, _) = asPostgres && root
            ? await Tool.RunAsync("su", ["postgres", "-s", "/bin/bash", "-c", command], TimeSpan.FromMinutes(2))
            : await Tool.RunAsync("bash", ["-c", command], TimeSpan.FromMinutes(2));
        if (code != 0 && !allowFailure)
        {
            throw new InvalidOperationException($"{command} failed ({code}): {output}");
        }
    }
}

/// <summary>One statement's share of a phase, per message.</summary>
internal sealed record StatementShare(string Kind, string Query, double CallsPerMessage, double MeanMs, double MsPerMessage);

/// <summary>What the database did for a phase of <see cref="Messages"/> messages, from pg_stat_statements and pg_stat_database.</summary>
internal sealed record StatementFigures(
    double Messages, double Seconds,
    double MailApiPerMessage, double HangfirePerMessage, double DiscardAllPerMessage, double TransactionControlPerMessage, double OtherPerMessage,
    double CommitsPerMessage, double RollbacksPerMessage, double DatabaseMsPerMessage, List<StatementShare> Top)
{
    public double TotalPerMessage => MailApiPerMessage + HangfirePerMessage + DiscardAllPerMessage + TransactionControlPerMessage + OtherPerMessage;
}

/// <summary>
/// pg_stat_statements (reset for one database before a phase) and the database's xact_commit delta, read on the bench's
/// own connection. The bench's own queries start with <c>/* bench */</c> and are left out; its own commits are counted
/// and subtracted.
/// </summary>
internal sealed partial class DatabaseStats(string connectionString) : IAsyncDisposable
{
    private readonly NpgsqlDataSource _source = NpgsqlDataSource.Create(
        new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = "bench-stats", MaxPoolSize = 2 }.ConnectionString);
    private long _ownCommands;
    private (long Commits, long Rollbacks) _atReset;
    private long _ownAtReset;
    private Stopwatch _since = Stopwatch.StartNew();

    public NpgsqlDataSource Source => _source;

    /// <summary>Runs a command of the bench's own (its text starts with <c>/* bench */</c>), counted as one commit.</summary>
    public NpgsqlCommand Command(string sql)
    {
        Interlocked.Increment(ref _ownCommands);
        return _source.CreateCommand("/* bench */ " + sql);
    }

    public async Task ResetAsync()
    {
        await using (var reset = Command("select pg_stat_statements_reset(0, (select oid from pg_database where datname = current_database()), 0)"))
        {
            await reset.ExecuteNonQueryAsync();
        }
        _atReset = await TransactionsAsync();
        _ownAtReset = Interlocked.Read(ref _ownCommands);
        _since = Stopwatch.StartNew();
    }

    /// <summary>
    /// The phase's statements per message by kind, and commits. Backends flush pg_stat_database at most once a second
    /// when idle: wait <paramref name="flush"/> first (the service's pollers run on meanwhile; the idle figure says how much).
    /// </summary>
    public async Task<StatementFigures> ReadAsync(double messages, TimeSpan flush)
    {
        var seconds = _since.Elapsed.TotalSeconds;
        var rows = new List<(string Kind, string Query, long Calls, double TotalMs)>();
        await using (var command = Command(
            "select query, calls, total_exec_time from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())"))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                var query = reader.GetString(0);
                if (!query.StartsWith("/* bench */", StringComparison.Ordinal))
                {
                    rows.Add((Kind(query), Spaces().Replace(query, " ").Trim(), reader.GetInt64(1), reader.GetDouble(2)));
                }
            }
        }
        await Task.Delay(flush);
        var own = Interlocked.Read(ref _ownCommands) - _ownAtReset; // this read's own command is not in its own result
        var (commits, rollbacks) = await TransactionsAsync();
        double Per(string kind) => rows.Where(r => r.Kind == kind).Sum(r => r.Calls) / messages;
        var top = rows.OrderByDescending(r => r.Calls).ThenByDescending(r => r.TotalMs).Take(25)
            .Select(r => new StatementShare(r.Kind, r.Query.Length > 120 ? r.Query[..117] + "..." : r.Query,
                r.Calls / messages, r.TotalMs / r.Calls, r.TotalMs / messages))
            .ToList();
        return new StatementFigures(messages, seconds, Per("mailapi"), Per("hangfire"), Per("discard"), Per("transaction"), Per("other"),
            (commits - _atReset.Commits - own) / messages, (rollbacks - _atReset.Rollbacks) / messages,
            rows.Sum(r => r.TotalMs) / messages, top);
    }

    public static string Kind(string query)
    {
        var q = query.TrimStart();
        if (q.StartsWith("DISCARD ALL", StringComparison.OrdinalIgnoreCase))
        {
            return "discard";
        }
        if (q.StartsWith("BEGIN", StringComparison.OrdinalIgnoreCase) || q.StartsWith("COMMIT", StringComparison.OrdinalIgnoreCase)
            || q.StartsWith("ROLLBACK", StringComparison.OrdinalIgnoreCase) || q.StartsWith("START TRANSACTION", StringComparison.OrdinalIgnoreCase))
        {
            return "transaction";
        }
        if (q.Contains("mailapi_", StringComparison.OrdinalIgnoreCase))
        {
            return "mailapi";
        }
        return q.Contains("hangfire", StringComparison.OrdinalIgnoreCase) ? "hangfire" : "other";
    }

    private async Task<(long Commits, long Rollbacks)> TransactionsAsync()
    {
        await using var command = Command("select xact_commit, xact_rollback from pg_stat_database where datname = current_database()");
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    public ValueTask DisposeAsync() => _source.DisposeAsync();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}

/// <summary>
/// Waits for messages to be final by asking the database (one count a poll) rather than the API: in PostgreSQL mode a
/// GET per message per poll would be a large share of the service's own load, and of the statements counted.
/// </summary>
internal sealed class DatabaseFinalStatus(DatabaseStats db) : IFinalStatus
{
    private static readonly string[] Final = ["sent", "failed", "partially_sent", "canceled"];

    public async Task<List<(DateTimeOffset Created, DateTimeOffset? Sent, string? ConnectionId)>> WaitForFinalAsync(IReadOnlyList<string> ids, TimeSpan patience)
    {
        var guids = ids.Select(Guid.Parse).ToArray();
        var deadline = DateTime.UtcNow + patience;
        while (true)
        {
            await using var count = db.Command("select count(*) from mailapi_messages where id = any($1) and status = any($2)");
            count.Parameters.Add(new() { Value = guids });
            count.Parameters.Add(new() { Value = Final });
            var done = (long)(await count.ExecuteScalarAsync())!;
            if (done == guids.Length)
            {
                break;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{done} of {guids.Length} messages final after {patience}");
            }
            await Task.Delay(200);
        }
        var results = new List<(DateTimeOffset, DateTimeOffset?, string?)>(guids.Length);
        await using var read = db.Command(
            "select doc->>'createdAt', case when status = 'sent' then doc->>'sentAt' end, doc->'attempts'->-1->>'connectionId' from mailapi_messages where id = any($1)");
        read.Parameters.Add(new() { Value = guids });
        await using var reader = await read.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            results.Add((DateTimeOffset.Parse(reader.GetString(0), CultureInfo.InvariantCulture),
                reader.IsDBNull(1) ? null : DateTimeOffset.Parse(reader.GetString(1), CultureInfo.InvariantCulture),
                reader.IsDBNull(2) ? null : reader.GetString(2)));
        }
        return results;
    }
}

/// <summary>One run of bench/MailApi.HangfireCeiling (its JSON line).</summary>
internal sealed record CeilingFigures(
    string Variant, int Round, int Jobs, double Seconds, double JobsPerSecond, double EnqueuePerSecond, double MachineCpuBusy, double MachineCpuSystem,
    double? HangfirePerJob, double? DiscardAllPerJob, double? TransactionControlPerJob, double? CommitsPerJob);

/// <summary>Hangfire.PostgreSql's own ceiling, one process and one fresh database per variant.</summary>
internal static class HangfireCeiling
{
    public static async Task<CeilingFigures> RunAsync(string root, BenchPostgres pg, string variant, int round, int jobs, int producers, int workers)
    {
        var dll = Path.Combine(root, "bench", "MailApi.HangfireCeiling", "bin", "Release", "net10.0", "MailApi.HangfireCeiling.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException("Build it first: dotnet build -c Release bench/MailApi.HangfireCeiling (bench/run.sh does)", dll);
        }
        var connection = await pg.CreateDatabaseAsync("ceiling");
        var (code, output, _) = await Tool.RunAsync("dotnet",
            [dll, "--connection", connection, "--jobs", jobs.ToString(CultureInfo.InvariantCulture), "--producers", producers.ToString(CultureInfo.InvariantCulture),
             "--workers", workers.ToString(CultureInfo.InvariantCulture), "--variant", variant], TimeSpan.FromMinutes(15));
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith('{'));
        if (code != 0 || line is null)
        {
            throw new InvalidOperationException($"MailApi.HangfireCeiling --variant {variant} failed ({code}): {output}");
        }
        using var json = JsonDocument.Parse(line);
        var r = json.RootElement;
        double? Kind(string kind) => r.GetProperty("statementsPerJob").ValueKind == JsonValueKind.Array
            ? r.GetProperty("statementsPerJob").EnumerateArray().Where(e => e.GetProperty("kind").GetString() == kind).Select(e => e.GetProperty("perJob").GetDouble()).FirstOrDefault()
            : null;
        return new CeilingFigures(variant, round, jobs, r.GetProperty("seconds").GetDouble(), r.GetProperty("jobsPerSecond").GetDouble(),
            r.GetProperty("enqueuePerSecond").GetDouble(), r.GetProperty("machineCpuBusy").GetDouble(), r.GetProperty("machineCpuSystem").GetDouble(),
            Kind("hangfire"), Kind("discardAll"), Kind("transactionControl"),
            r.GetProperty("commitsPerJob").ValueKind == JsonValueKind.Number ? r.GetProperty("commitsPerJob").GetDouble() : null);
    }
}

/// <summary>
/// The service's thread pool, CPU and garbage collector between two moments, from the probe's 100 ms samples; the last three
/// are the milliseconds a second the GC paused the service, the most pause in one 100 ms sample, and the MB a second the
/// service allocated.
/// </summary>
internal sealed record ThreadPoolFigures(double QueueLengthMean, double QueueLengthMax, double ThreadsMax, double CpuCores,
    double LockContentionsPerSecond, double Gen0PerSecond, double GcPauseMsPerSecond, double GcPauseMaxMsIn100Ms, double AllocatedMBPerSecond);
