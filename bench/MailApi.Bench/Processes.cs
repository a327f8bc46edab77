using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace MailApi.Bench;

/// <summary>Runs a command to its end (bounded by a timeout) and gives its output and how long it ran.</summary>
internal static class Tool
{
    public static async Task<(int Code, string Output, TimeSpan Elapsed)> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} ran longer than {timeout}");
        }
        var elapsed = watch.Elapsed;
        return (process.ExitCode, await stdout + await stderr, elapsed);
    }
}

/// <summary>The bench's own Postfix (tests/relays/postfix.sh, bench profile): a real MTA with its queue on disk, discarding everything.</summary>
internal sealed class BenchPostfix : IAsyncDisposable
{
    private readonly string _script;
    private readonly string _dir;

    private BenchPostfix(string script, string dir, int port)
    {
        _script = script;
        _dir = dir;
        Port = port;
    }

    public int Port { get; }

    public static async Task<BenchPostfix> StartAsync(string root)
    {
        var port = FreePort.Get();
        var dir = Path.Combine(Path.GetTempPath(), $"mailapi-bench-postfix-{Environment.ProcessId}");
        var script = Path.Combine(root, "tests", "relays", "postfix.sh");
        var (code, output, _) = await Tool.RunAsync("bash", [script, "start", port.ToString(), dir], TimeSpan.FromSeconds(60));
        if (code != 0)
        {
            throw new InvalidOperationException($"tests/relays/postfix.sh start (bench profile) failed: {output}");
        }
        return new BenchPostfix(script, dir, port);
    }

    public async ValueTask DisposeAsync() =>
        await Tool.RunAsync("bash", [_script, "stop", _dir], TimeSpan.FromSeconds(60));
}

/// <summary>
/// The service (the Release build of src/MailApi) as a child process on 127.0.0.1, in Production with in-memory
/// storage (or PostgreSQL, given a connection string), one API key, and the relay given; with its resident memory sampled
/// from /proc.
/// </summary>
internal sealed class ServiceProcess : IAsyncDisposable
{
    public const string ApiKey = "bench-api-key";

    private readonly Process _process;
    private readonly Task _draining;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampling;
    private long _peakRss;

    private readonly string? _probe;

    private ServiceProcess(Process process, int port, string? probe)
    {
        _process = process;
        Port = port;
        _probe = probe;
        // BENCH_SERVICE_LOG=DIR keeps each service's output in DIR/service-PORT.log (for profiling); otherwise it is dropped.
        var log = Environment.GetEnvironmentVariable("BENCH_SERVICE_LOG") is { Length: > 0 } dir
            ? TextWriter.Synchronized(new StreamWriter(Path.Combine(dir, $"service-{port}.log")) { AutoFlush = true })
            : null;
        _draining = Task.WhenAll(DrainAsync(process.StandardOutput, log), DrainAsync(process.StandardError, log));
        _sampling = SampleAsync();
    }

    public int Port { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");

    public int ProcessId => _process.Id;

    /// <summary>Resident memory now, in bytes.</summary>
    public long Rss => ReadStatus("VmRSS:");

    /// <summary>The highest resident memory seen by the 50 ms sampler since <see cref="ResetPeak"/>.</summary>
    public long PeakRss => Interlocked.Read(ref _peakRss);

    public void ResetPeak() => Interlocked.Exchange(ref _peakRss, Rss);

    /// <summary>Starts the Release build of the service against the relay on <paramref name="smtpPort"/>; waits until it is ready.</summary>
    /// <param name="root">The repository root.</param>
    /// <param name="smtpPort">The relay's port on 127.0.0.1.</param>
    /// <param name="concurrency">Delivery workers and relay connections.</param>
    /// <param name="pool">Reuse relay connections.</param>
    /// <param name="postgres">A connection string: PostgreSQL mode; in-memory without one.</param>
    /// <param name="settings">Settings beyond the bench's own, as environment variables (e.g. <c>Webhooks__AllowHttp</c>).</param>
    public static async Task<ServiceProcess> StartAsync(string root, int smtpPort, int concurrency, bool pool, string? postgres = null,
        IReadOnlyDictionary<string, string>? settings = null)
    {
        var dll = Path.Combine(root, "src", "MailApi", "bin", "Release", "net10.0", "MailApi.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException("Build the service first: dotnet build -c Release src/MailApi (bench/run.sh does)", dll);
        }
        var port = FreePort.Get();
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(dll);
        var env = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["Auth__ApiKeys__0__Name"] = "bench",
            ["Auth__ApiKeys__0__Key"] = ApiKey,
            ["Auth__ApiKeys__0__AllowedSenders__0"] = "*",
            ["Smtp__Host"] = "127.0.0.1",
            ["Smtp__Port"] = smtpPort.ToString(),
            ["Smtp__Security"] = "None",
            ["Smtp__Pool__Enabled"] = pool ? "true" : "false",
            ["Smtp__Pool__MaxConnections"] = concurrency.ToString(),
            ["Delivery__Workers"] = concurrency.ToString(),
            ["Storage__Provider"] = postgres is null ? "InMemory" : "PostgreSql",
        };
        if (postgres is not null)
        {
            env["Storage__ConnectionString"] = postgres;
        }
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            env[key] = value;
        }
        foreach (var (key, value) in env)
        {
            info.Environment[key] = value;
        }
        // Extra settings for experiments, e.g. BENCH_SERVICE_ENV="DOTNET_gcServer=0 Delivery__Workers=4".
        foreach (var pair in (Environment.GetEnvironmentVariable("BENCH_SERVICE_ENV") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var (key, value) = (pair[..pair.IndexOf('=')], pair[(pair.IndexOf('=') + 1)..]);
            info.Environment[key] = value;
        }
        // The bench's startup hook (bench/MailApi.BenchProbe): the thread pool sampled every 100 ms into a file.
        var hook = Path.Combine(root, "bench", "MailApi.BenchProbe", "bin", "Release", "net10.0", "MailApi.BenchProbe.dll");
        string? probe = null;
        if (File.Exists(hook))
        {
            probe = Path.Combine(Path.GetTempPath(), $"mailapi-bench-probe-{Environment.ProcessId}-{port}.csv");
            info.Environment["DOTNET_STARTUP_HOOKS"] = hook;
            info.Environment["MAILAPI_BENCH_PROBE"] = probe;
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the service");
        var service = new ServiceProcess(process, port, probe);
        using var http = new HttpClient { BaseAddress = service.BaseAddress };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The service exited at start with code {process.ExitCode}");
            }
            try
            {
                if ((await http.GetAsync("/health/ready")).IsSuccessStatusCode)
                {
                    return service;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
            }
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _sampling;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        await _process.WaitForExitAsync();
        await _draining;
        _process.Dispose();
        if (_probe is not null)
        {
            File.Delete(_probe);
        }
    }

    /// <summary>The thread pool between two moments, from the startup hook's samples; null without the hook.</summary>
    public ThreadPoolFigures? ThreadPoolBetween(DateTimeOffset from, DateTimeOffset to)
    {
        if (_probe is null || !File.Exists(_probe))
        {
            return null;
        }
        var (a, b) = (from.ToUnixTimeMilliseconds(), to.ToUnixTimeMilliseconds());
        var rows = new List<long[]>();
        using (var stream = new FileStream(_probe, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        using (var reader = new StreamReader(stream))
        {
            reader.ReadLine();
            while (reader.ReadLine() is { } line)
            {
                var f = line.Split(',');
                if (f.Length == 11 && f.All(x => long.TryParse(x, out _)) && long.Parse(f[0]) is var at && at >= a && at <= b)
                {
                    rows.Add([.. f.Select(long.Parse)]);
                }
            }
        }
        if (rows.Count < 2)
        {
            return null;
        }
        var (first, last) = (rows[0], rows[^1]);
        var seconds = (last[0] - first[0]) / 1000.0;
        return new ThreadPoolFigures(rows.Average(r => r[1]), rows.Max(r => r[1]), rows.Max(r => r[2]),
            (last[8] - first[8]) / 1000.0 / seconds, (last[4] - first[4]) / seconds, (last[5] - first[5]) / seconds,
            (last[9] - first[9]) / seconds, rows.Zip(rows.Skip(1), (x, y) => y[9] - x[9]).Max(), (last[10] - first[10]) / 1024.0 / seconds);
    }

    private async Task SampleAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var rss = Rss;
                long seen;
                while (rss > (seen = Interlocked.Read(ref _peakRss)) && Interlocked.CompareExchange(ref _peakRss, rss, seen) != seen)
                {
                }
                await Task.Delay(50, _stop.Token);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private long ReadStatus(string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                {
                    return long.Parse(line[field.Length..].Trim().Split(' ')[0]) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }
        return 0;
    }

    // The service logs one line per message at Information: read it so the pipe never fills.
    private static async Task DrainAsync(StreamReader reader, TextWriter? log)
    {
        var buffer = new char[16384];
        int read;
        while ((read = await reader.ReadAsync(buffer)) > 0)
        {
            log?.Write(buffer, 0, read);
        }
    }
}
