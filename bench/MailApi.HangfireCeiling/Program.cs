using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Hangfire;
using Hangfire.Common;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Hangfire.States;
using MailApi.HangfireCeiling;
using Npgsql;

// Hangfire.PostgreSql's own ceiling: how fast Hangfire 1.8 on Hangfire.PostgreSql runs empty jobs end to end
// (enqueue → Succeeded) with the storage options the service uses (DeliveryExtensions.JobStorageFor), the service's
// serializer settings and worker count, jobs made the way HangfireDeliveryQueue makes them (a Guid and a
// CancellationToken, created with IBackgroundJobClient.Create and an EnqueuedState) by --producers threads at once.
//
//   dotnet bench/MailApi.HangfireCeiling/bin/Release/net10.0/MailApi.HangfireCeiling.dll \
//       --connection "Host=127.0.0.1;Port=5432;Username=postgres;Database=ceiling" [--jobs 1500] [--producers 16]
//       [--workers 16] [--variant baseline]
//
// A variant is a '+'-separated list of changes to the service's setup (see Variant below), e.g. "nofilters+noreset+poll=50".
// Prints one JSON line on stdout (MailApi.Bench reads it); progress on stderr. Use a fresh database per run: the
// figures include pg_stat_statements (statements per job, by kind) when the extension is there.
var o = Options.Parse(args);
var variant = Variant.Parse(o.Variant);
void Log(string line) => Console.Error.WriteLine($"[ceiling {o.Variant}] {line}");

var connectionString = new NpgsqlConnectionStringBuilder(o.Connection)
{
    NoResetOnClose = variant.NoResetOnClose,
    Options = variant.AsyncCommit ? "-c synchronous_commit=off" : null,
}.ConnectionString;
// The same options as DeliveryExtensions.JobStorageFor, but for the variant's changes.
var storageOptions = new PostgreSqlStorageOptions
{
    SchemaName = "hangfire",
    PrepareSchemaIfNecessary = true,
    EnableLongPolling = false,
    QueuePollInterval = variant.QueuePollInterval,
    InvisibilityTimeout = TimeSpan.FromMinutes(5),
    UseSlidingInvisibilityTimeout = true,
    DistributedLockTimeout = TimeSpan.FromSeconds(30),
};
if (variant.ShortExpiration)
{
    storageOptions.JobExpirationCheckInterval = TimeSpan.FromSeconds(5);
}
var storage = new PostgreSqlStorage(new NpgsqlConnectionFactory(connectionString, storageOptions), storageOptions);
if (variant.ShortExpiration)
{
    storage.JobExpirationTimeout = TimeSpan.FromSeconds(5);
}
GlobalConfiguration.Configuration
    .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
    .UseSimpleAssemblyNameTypeSerializer()
    .UseRecommendedSerializerSettings();
foreach (var filter in GlobalJobFilters.Filters.ToList())
{
    if ((variant.NoCultureNorStatistics && filter.Instance is CaptureCultureAttribute or StatisticsHistoryAttribute)
        || (variant.NoContinuations && filter.Instance is ContinuationsSupportAttribute))
    {
        GlobalJobFilters.Filters.Remove(filter.Instance);
    }
}
GlobalJobFilters.Filters.Add(SucceededCounter.Instance);
var filters = string.Join(", ", GlobalJobFilters.Filters.Select(f => f.Instance.GetType().Name));
Log($"filters: {filters}; UseNativeDatabaseTransactions {storageOptions.UseNativeDatabaseTransactions}, poll {storageOptions.QueuePollInterval}");

var client = new BackgroundJobClient(storage);
using var server = new BackgroundJobServer(new BackgroundJobServerOptions
{
    WorkerCount = o.Workers,
    SchedulePollingInterval = TimeSpan.FromSeconds(1), // DeliveryOptions.SchedulePollingInterval's default
    ShutdownTimeout = TimeSpan.FromSeconds(10),
}, storage);

// Warm-up: JIT, the connection pool, Hangfire's first queries; not measured.
var warmUp = Math.Min(100, o.Jobs);
await RunJobsAsync(warmUp, Math.Min(o.Producers, warmUp));
Log($"warm-up of {warmUp} jobs done");

await using var stats = await DatabaseStats.OpenAsync(o.Connection);
await stats.ResetAsync();
var cpuBefore = MachineCpu.Read();
var (elapsed, enqueueElapsed) = await RunJobsAsync(o.Jobs, o.Producers);
var cpu = MachineCpu.Read() - cpuBefore;
var statements = await stats.StatementsAsync();
Log($"{o.Jobs} jobs in {elapsed.TotalSeconds:F2} s ({o.Jobs / elapsed.TotalSeconds:F0}/s); enqueue took {enqueueElapsed.TotalSeconds:F2} s");

// Commits: pg_stat_database is flushed by each backend at idle or exit; closing the pool ends Hangfire's backends.
server.SendStop();
server.Dispose();
NpgsqlConnection.ClearAllPools();
await Task.Delay(1500);
var commits = await stats.CommitsSinceResetAsync();

var result = new
{
    variant = o.Variant,
    jobs = o.Jobs,
    producers = o.Producers,
    workers = o.Workers,
    queuePollMs = variant.QueuePollInterval.TotalMilliseconds,
    nativeTransactions = storageOptions.UseNativeDatabaseTransactions,
    filters,
    seconds = elapsed.TotalSeconds,
    jobsPerSecond = o.Jobs / elapsed.TotalSeconds,
    enqueuePerSecond = o.Jobs / enqueueElapsed.TotalSeconds,
    machineCpuBusy = cpu.Busy,
    machineCpuSystem = cpu.System,
    statementsPerJob = statements?.Select(s => new { kind = s.Key, perJob = s.Value / (double)o.Jobs }).ToList(),
    commitsPerJob = commits is { } c ? c / (double)o.Jobs : (double?)null,
};
Console.WriteLine(JsonSerializer.Serialize(result));
return 0;

// Enqueues `jobs` empty jobs from `producers` threads at once; gives the time until the last one succeeded and the
// time the enqueueing alone took.
async Task<(TimeSpan Elapsed, TimeSpan Enqueue)> RunJobsAsync(int jobs, int producers)
{
    SucceededCounter.Instance.Reset();
    var next = -1;
    var watch = Stopwatch.StartNew();
    var threads = Enumerable.Range(0, producers).Select(_ => new Thread(() =>
    {
        while (Interlocked.Increment(ref next) < jobs)
        {
            client.Create(EmptyJob.For(Guid.CreateVersion7()), new EnqueuedState());
        }
    })
    { IsBackground = true }).ToList();
    threads.ForEach(t => t.Start());
    threads.ForEach(t => t.Join());
    var enqueue = watch.Elapsed;
    var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(10);
    while (SucceededCounter.Instance.Count < jobs)
    {
        if (DateTime.UtcNow > deadline)
        {
            throw new TimeoutException($"{SucceededCounter.Instance.Count} of {jobs} jobs succeeded in 10 minutes");
        }
        await Task.Delay(2);
    }
    return (SucceededCounter.Instance.LastAt, enqueue);
}

namespace MailApi.HangfireCeiling
{
    /// <summary>The job: the shape of DeliveryJob.RunAsync (a message id and a token), doing nothing.</summary>
    public sealed class EmptyJob
    {
        private static readonly System.Reflection.MethodInfo Method = typeof(EmptyJob).GetMethod(nameof(RunAsync))!;
        private static readonly object NoCancellation = CancellationToken.None;

        public static Job For(Guid id) => new(typeof(EmptyJob), Method, [id, NoCancellation]);

        [AutomaticRetry(Attempts = 0)]
        public Task RunAsync(Guid messageId, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>
    /// Counts jobs moved to Succeeded and when the last one was, measured from <see cref="Reset"/>. OnStateApplied runs
    /// inside the state change's transaction, just before its commit: the end is at most one commit early.
    /// </summary>
    public sealed class SucceededCounter : JobFilterAttribute, IApplyStateFilter
    {
        public static readonly SucceededCounter Instance = new();
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private long _count;
        private long _lastTicks;
        private long _startTicks;

        public long Count => Interlocked.Read(ref _count);

        public TimeSpan LastAt => TimeSpan.FromTicks(Interlocked.Read(ref _lastTicks) - Interlocked.Read(ref _startTicks));

        public void Reset()
        {
            Interlocked.Exchange(ref _count, 0);
            Interlocked.Exchange(ref _startTicks, _clock.Elapsed.Ticks);
            Interlocked.Exchange(ref _lastTicks, _clock.Elapsed.Ticks);
        }

        public void OnStateApplied(ApplyStateContext context, Hangfire.Storage.IWriteOnlyTransaction transaction)
        {
            if (context.NewState is SucceededState)
            {
                Interlocked.Exchange(ref _lastTicks, _clock.Elapsed.Ticks);
                Interlocked.Increment(ref _count);
            }
        }

        public void OnStateUnapplied(ApplyStateContext context, Hangfire.Storage.IWriteOnlyTransaction transaction)
        {
        }
    }

    /// <summary>The changes to the service's Hangfire setup a run makes: tokens joined by '+'.</summary>
    internal sealed record Variant
    {
        /// <summary><c>nofilters</c>: CaptureCulture and StatisticsHistory removed from GlobalJobFilters.</summary>
        public bool NoCultureNorStatistics { get; init; }

        /// <summary><c>nocontinuations</c>: ContinuationsSupport removed too (MailApi uses no continuations).</summary>
        public bool NoContinuations { get; init; }

        /// <summary><c>noreset</c>: <c>No Reset On Close=true</c>, so a pooled connection is not sent DISCARD ALL each time.</summary>
        public bool NoResetOnClose { get; init; }

        /// <summary><c>asynccommit</c>: <c>synchronous_commit=off</c> on Hangfire's connections (the service since issue 15).</summary>
        public bool AsyncCommit { get; init; }

        /// <summary><c>poll=MS</c>: QueuePollInterval (the service: 500 ms; Hangfire.PostgreSql's minimum: 50 ms).</summary>
        public TimeSpan QueuePollInterval { get; init; } = TimeSpan.FromMilliseconds(500);

        /// <summary><c>expire</c>: succeeded jobs expire after 5 s instead of a day, checked every 5 s instead of every hour.</summary>
        public bool ShortExpiration { get; init; }

        public static Variant Parse(string spec)
        {
            var v = new Variant();
            foreach (var token in spec.Split('+', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                v = token switch
                {
                    "baseline" => v,
                    "nofilters" => v with { NoCultureNorStatistics = true },
                    "nocontinuations" => v with { NoCultureNorStatistics = true, NoContinuations = true },
                    "noreset" => v with { NoResetOnClose = true },
                    "asynccommit" => v with { AsyncCommit = true },
                    // What the service runs with since issue 15.
                    "service" => v with { NoCultureNorStatistics = true, NoContinuations = true, NoResetOnClose = true, AsyncCommit = true },
                    "expire" => v with { ShortExpiration = true },
                    _ when token.StartsWith("poll=", StringComparison.Ordinal) =>
                        v with { QueuePollInterval = TimeSpan.FromMilliseconds(int.Parse(token[5..], CultureInfo.InvariantCulture)) },
                    _ => throw new ArgumentException($"Unknown variant token '{token}' (baseline, service, nofilters, nocontinuations, noreset, asynccommit, expire, poll=MS)"),
                };
            }
            return v;
        }
    }

    internal sealed class Options
    {
        public string Connection { get; private set; } = "";
        public int Jobs { get; private set; } = 1500;
        public int Producers { get; private set; } = 16;
        public int Workers { get; private set; } = 16;
        public string Variant { get; private set; } = "baseline";

        public static Options Parse(string[] args)
        {
            var o = new Options();
            for (var i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                switch (args[i])
                {
                    case "--connection": o.Connection = Next(); break;
                    case "--jobs": o.Jobs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--producers": o.Producers = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--workers": o.Workers = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--variant": o.Variant = Next(); break;
                    default: throw new ArgumentException($"Unknown option {args[i]}");
                }
            }
            return o.Connection.Length > 0 ? o : throw new ArgumentException("--connection is required");
        }
    }

    /// <summary>Whole-machine CPU from /proc/stat: on 2 shared cores, whether the run saturated them.</summary>
    internal readonly record struct MachineCpu(long Busy0, long System0, long Total0)
    {
        public double Busy => Total0 == 0 ? 0 : Busy0 / (double)Total0;
        public double System => Total0 == 0 ? 0 : System0 / (double)Total0;

        public static MachineCpu Read()
        {
            // cpu user nice system idle iowait irq softirq steal
            var f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8)
                .Select(long.Parse).ToArray();
            var total = f.Sum();
            return new MachineCpu(total - f[3] - f[4], f[2] + f[5] + f[6], total);
        }

        public static MachineCpu operator -(MachineCpu a, MachineCpu b) => new(a.Busy0 - b.Busy0, a.System0 - b.System0, a.Total0 - b.Total0);
    }

    /// <summary>pg_stat_statements and pg_stat_database for the run's database, read on a connection of its own.</summary>
    internal sealed class DatabaseStats(NpgsqlDataSource source, bool statements) : IAsyncDisposable
    {
        private long _commitsAtReset;

        public static async Task<DatabaseStats> OpenAsync(string connectionString)
        {
            var source = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = "ceiling-stats", MaxPoolSize = 1 }.ConnectionString);
            await using var check = source.CreateCommand("/* ceiling */ select count(*) from pg_extension where extname = 'pg_stat_statements'");
            return new DatabaseStats(source, (long)(await check.ExecuteScalarAsync())! > 0);
        }

        public async Task ResetAsync()
        {
            if (statements)
            {
                await using var reset = source.CreateCommand("/* ceiling */ select pg_stat_statements_reset()");
                await reset.ExecuteNonQueryAsync();
            }
            _commitsAtReset = await CommitsAsync();
        }

        /// <summary>Calls since the reset by kind: Hangfire's schema, DISCARD ALL, BEGIN/COMMIT/ROLLBACK, other.</summary>
        public async Task<Dictionary<string, long>?> StatementsAsync()
        {
            if (!statements)
            {
                return null;
            }
            await using var command = source.CreateCommand(
                "/* ceiling */ select query, calls from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())");
            var kinds = new Dictionary<string, long> { ["hangfire"] = 0, ["discardAll"] = 0, ["transactionControl"] = 0, ["other"] = 0 };
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var query = reader.GetString(0);
                if (query.StartsWith("/* ceiling */", StringComparison.Ordinal))
                {
                    continue;
                }
                kinds[Kind(query)] += reader.GetInt64(1);
            }
            return kinds;
        }

        public static string Kind(string query)
        {
            var q = query.TrimStart();
            if (q.StartsWith("DISCARD ALL", StringComparison.OrdinalIgnoreCase))
            {
                return "discardAll";
            }
            if (q.StartsWith("BEGIN", StringComparison.OrdinalIgnoreCase) || q.StartsWith("COMMIT", StringComparison.OrdinalIgnoreCase)
                || q.StartsWith("ROLLBACK", StringComparison.OrdinalIgnoreCase) || q.StartsWith("START TRANSACTION", StringComparison.OrdinalIgnoreCase))
            {
                return "transactionControl";
            }
            return q.Contains("hangfire", StringComparison.OrdinalIgnoreCase) ? "hangfire" : "other";
        }

        /// <summary>Commits since the reset, less the two of this reader (the reset's count and this read).</summary>
        public async Task<long?> CommitsSinceResetAsync() => await CommitsAsync() - _commitsAtReset - 2;

        private async Task<long> CommitsAsync()
        {
            await using var command = source.CreateCommand("/* ceiling */ select xact_commit from pg_stat_database where datname = current_database()");
            return (long)(await command.ExecuteScalarAsync())!;
        }

        public ValueTask DisposeAsync() => source.DisposeAsync();
    }
}
