using System.Diagnostics;
using Npgsql;

namespace MailApi.Testing;

/// <summary>
/// A PostgreSQL cluster of one test's own (initdb in a temp folder, a free port on 127.0.0.1) that the test may stop
/// and start, as an operator's outage would, without touching the cluster the other tests share.
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    private const string HowToGet =
        "PostgreSQL's server binaries are not installed: `bash tests/relays/postgres.sh start` installs them with apt-get (CI does).";

    private readonly string _bin;
    private readonly string _dir;
    private readonly int _port;

    private PrivatePostgres(string bin, string dir, int port)
    {
        _bin = bin;
        _dir = dir;
        _port = port;
    }

    public string ConnectionString => $"Host=127.0.0.1;Port={_port};Username=postgres;Database=postgres;Timeout=3";

    /// <summary>A new cluster, started; skips the test with a reason when PostgreSQL is not installed.</summary>
    public static async Task<PrivatePostgres> StartAsync()
    {
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(b => File.Exists(Path.Combine(b, "initdb"))).Order().LastOrDefault()
            : null;
        if (bin is null)
        {
            Assert.Skip(HowToGet);
        }
        var dir = Directory.CreateTempSubdirectory("mailapi-pg-outage-").FullName;
        var cluster = new PrivatePostgres(bin, dir, FreePort.Get());
        await cluster.RunAsync($"chown postgres:postgres '{dir}' 2>/dev/null || true", asPostgres: false);
        await cluster.RunAsync($"'{bin}/initdb' -D '{dir}/data' -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 > '{dir}/initdb.log'");
        await cluster.StartAgainAsync();
        return cluster;
    }

    /// <summary>Stops the server at once (<c>pg_ctl stop -m fast</c>): open connections are cut, new ones refused.</summary>
    public Task StopAsync() => RunAsync($"'{_bin}/pg_ctl' -D '{_dir}/data' -m fast -w stop > /dev/null");

    /// <summary>Starts the server again and returns once it takes connections.</summary>
    public async Task StartAgainAsync()
    {
        await RunAsync($"'{_bin}/pg_ctl' -D '{_dir}/data' -l '{_dir}/postgres.log' -w -t 60 "
            + $"-o \"-c listen_addresses=127.0.0.1 -p {_port} -k '{_dir}' -c fsync=off -c synchronous_commit=off\" start > /dev/null");
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await RunAsync($"'{_bin}/pg_ctl' -D '{_dir}/data' -m immediate -w stop > /dev/null 2>&1 || true");
        Directory.Delete(_dir, recursive: true);
    }

    // pg_ctl and initdb refuse to run as root: as root they run as the postgres user.
    private async Task RunAsync(string command, bool asPostgres = true)
    {
        var root = Environment.UserName == "root";
        var start = new ProcessStartInfo(asPostgres && root ? "su" : "bash") { RedirectStandardError = true };
        if (asPostgres && root)
        {
            foreach (var argument in (string[])["postgres", "-s", "/bin/bash", "-c", command])
            {
                start.ArgumentList.Add(argument);
            }
        }
        else
        {
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(command);
        }
        using var process = Process.Start(start)!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"`{command}` exited with {process.ExitCode}: {error}");
        }
    }
}
