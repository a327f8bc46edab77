using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MailApi.Bench;
using MailApi.Storage;
using MailApi.Suppressions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace MailApi.SuppressionLookup;

// The suppression lookup a submit makes (SuppressionCheck.ApplyAsync: one ISuppressionStore.FindAsync for all of a
// request's recipients), timed in process through the service's own stores, with no HTTP and no load beside it:
//   dotnet bench/MailApi.SuppressionLookup/bin/Release/net10.0/MailApi.SuppressionLookup.dll
//       [--empty CONNECTION --listed CONNECTION] [--entries N] [--seconds S] [--rounds R]
// (bash bench/run.sh --suppressions runs it on the bench's PostgreSQL). For each mode (in memory; PostgreSQL when both
// connections are given: two databases, one left empty, one with N entries on the key's list), a list of 0 and of N
// entries, requests of 1 and of 50 recipients, none of them on the list (the lookup misses, as a normal send's does):
// one caller looking up in a loop for S seconds a cell, the cells interleaved, R rounds after one discarded warm-up round.
// Gives one JSON line on stdout: per cell the median round's wall-clock µs per lookup, this process's CPU µs per lookup
// (the thread pool's idle spinning is off, see the .csproj, so that waiting for PostgreSQL does not count as work) and
// (PostgreSQL) the CPU µs of the database backends serving it (/proc/PID/schedstat: run it as a user that can read them).
internal static class SuppressionLookupBench
{
    private const string Owner = "bench";

    public static async Task<int> Main(string[] args)
    {
        var entries = Arg(args, "--entries", 100_000);
        var seconds = double.Parse(Text(args, "--seconds") ?? "1", CultureInfo.InvariantCulture);
        var rounds = Arg(args, "--rounds", 5);
        var (emptyDb, listedDb) = (Text(args, "--empty"), Text(args, "--listed"));

        var cells = new List<Cell>();
        var empty = new InMemorySuppressionStore();
        var listed = new InMemorySuppressionStore();
        var now = DateTimeOffset.UtcNow;
        for (var i = 1; i <= entries; i++)
        {
            await listed.PutAsync(new StoredSuppression
            {
                Owner = Owner,
                Address = SuppressionFill.Address(i),
                Id = Guid.CreateVersion7(),
                Reason = SuppressionReason.Manual,
                CreatedAt = now,
            }, now, CancellationToken.None);
        }
        foreach (var recipients in (int[])[1, 50])
        {
            cells.Add(new Cell("inMemory", 0, recipients, empty, null));
            cells.Add(new Cell("inMemory", entries, recipients, listed, null));
        }

        var databases = new List<PostgreSqlDatabase>();
        if (emptyDb is not null && listedDb is not null)
        {
            foreach (var (connection, count) in ((string, int)[])[(emptyDb, 0), (listedDb, entries)])
            {
                // The store as the service makes it (PostgreSqlDatabase migrates the database), under a name of its own so
                // that its backends can be found in pg_stat_activity.
                var named = new NpgsqlConnectionStringBuilder(connection) { ApplicationName = $"suppression-lookup-{count}" }.ConnectionString;
                var database = new PostgreSqlDatabase(Options.Create(new StorageOptions { Provider = StorageProvider.PostgreSql, ConnectionString = named }),
                    NullLogger<PostgreSqlDatabase>.Instance);
                await database.MigrateAsync(CancellationToken.None);
                databases.Add(database);
                if (count > 0)
                {
                    await SuppressionFill.FillAsync(database.DataSource, Owner, count);
                }
                var store = new PostgreSqlSuppressionStore(database);
                foreach (var recipients in (int[])[1, 50])
                {
                    cells.Add(new Cell("postgreSql", count, recipients, store, database));
                }
            }
        }

        for (var round = 0; round <= rounds; round++)
        {
            foreach (var cell in cells)
            {
                var figures = await MeasureAsync(cell, seconds);
                if (round > 0)
                {
                    cell.Rounds.Add(figures);
                }
            }
        }

        var normalize = Normalize(seconds);
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            entries,
            seconds,
            rounds,
            normalizeMicrosPerAddress = normalize,
            cells = cells.OrderBy(c => c.Mode != "inMemory").ThenBy(c => c.Recipients).ThenBy(c => c.Entries).Select(c =>
            {
                var median = c.Rounds.OrderBy(r => r.WallMicros).ElementAt(c.Rounds.Count / 2);
                return new
                {
                    mode = c.Mode,
                    entries = c.Entries,
                    recipients = c.Recipients,
                    lookups = c.Rounds.Sum(r => r.Lookups),
                    wallMicrosPerLookup = median.WallMicros,
                    wallMicrosEachRound = c.Rounds.Select(r => Math.Round(r.WallMicros, 3)),
                    clientCpuMicrosPerLookup = median.ClientCpuMicros,
                    serverCpuMicrosPerLookup = median.ServerCpuMicros,
                };
            }),
        }, JsonSerializerOptions.Web));
        foreach (var database in databases)
        {
            database.Dispose();
        }
        return 0;
    }

    private sealed record Cell(string Mode, int Entries, int Recipients, ISuppressionStore Store, PostgreSqlDatabase? Database)
    {
        public List<Round> Rounds { get; } = [];
    }

    private sealed record Round(long Lookups, double WallMicros, double ClientCpuMicros, double? ServerCpuMicros);

    /// <summary>One caller, one lookup after the other, for <paramref name="seconds"/>.</summary>
    private static async Task<Round> MeasureAsync(Cell cell, double seconds)
    {
        // 256 requests of distinct addresses, none on the list, in normal form as SuppressionCheck passes them.
        var requests = Enumerable.Range(0, 256)
            .Select(r => (IReadOnlyCollection<string>)Enumerable.Range(0, cell.Recipients).Select(i => $"r{r}-{i}@domain.local").ToArray()).ToArray();
        await cell.Store.FindAsync(Owner, requests[0], DateTimeOffset.UtcNow, CancellationToken.None);
        var backends = cell.Database is null ? [] : await BackendsAsync(cell.Database);
        var serverBefore = RunNanoseconds(backends);
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        var limit = TimeSpan.FromSeconds(seconds);
        long lookups = 0;
        while (watch.Elapsed < limit)
        {
            for (var i = 0; i < 16; i++, lookups++)
            {
                var found = await cell.Store.FindAsync(Owner, requests[lookups & 255], DateTimeOffset.UtcNow, CancellationToken.None);
                if (found.Count != 0)
                {
                    throw new InvalidOperationException("A measured recipient was found on the list.");
                }
            }
        }
        var wall = watch.Elapsed.TotalMicroseconds;
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMicroseconds;
        double? server = cell.Database is null ? null : (RunNanoseconds(backends) - serverBefore) / 1e3 / lookups;
        return new Round(lookups, wall / lookups, cpu / lookups, server);
    }

    /// <summary>The backends of this store's connections (its application name).</summary>
    private static async Task<int[]> BackendsAsync(PostgreSqlDatabase database)
    {
        var name = new NpgsqlConnectionStringBuilder(database.ConnectionString).ApplicationName;
        await using var admin = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(database.ConnectionString) { ApplicationName = "suppression-lookup-admin", Pooling = false }.ConnectionString);
        await using var command = admin.CreateCommand("select pid from pg_stat_activity where application_name = $1");
        command.Parameters.Add(new() { Value = name! });
        var pids = new List<int>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            pids.Add(reader.GetInt32(0));
        }
        return [.. pids];
    }

    /// <summary>Time the processes (single-threaded backends) spent on a CPU, in ns (/proc/PID/schedstat's first field).</summary>
    private static long RunNanoseconds(int[] pids) => pids.Sum(pid =>
    {
        try
        {
            return long.Parse(File.ReadAllText($"/proc/{pid}/schedstat").Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0;
        }
    });

    /// <summary>What SuppressionCheck does to each recipient before the lookup: its normal form; µs per address.</summary>
    private static double Normalize(double seconds)
    {
        var addresses = Enumerable.Range(0, 256).Select(i => $"Recipient{i}@Domain.Local").ToArray();
        var watch = Stopwatch.StartNew();
        long count = 0;
        var length = 0;
        while (watch.Elapsed.TotalSeconds < seconds)
        {
            for (var i = 0; i < 64; i++, count++)
            {
                length += SuppressionAddress.Of(addresses[count & 255]).Length;
            }
        }
        return length > 0 ? watch.Elapsed.TotalMicroseconds / count : double.NaN;
    }

    private static string? Text(string[] args, string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

    private static int Arg(string[] args, string name, int fallback) =>
        Text(args, name) is { } value ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;
}
