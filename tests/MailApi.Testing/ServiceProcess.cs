using System.Diagnostics;

namespace MailApi.Testing;

/// <summary>
/// The service as its own process (<c>dotnet MailApi.dll</c>, Production, configured by environment variables), for
/// what an in-process host cannot show: being killed with SIGKILL, two instances on one database, resident memory.
/// </summary>
public sealed class ServiceProcess : IDisposable
{
    private readonly Process _process;
    private readonly StreamWriter? _log;
    private bool _disposed;

    private ServiceProcess(Process process, int port, string apiKey, StreamWriter? log)
    {
        _process = process;
        _log = log;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        Client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
    }

    /// <summary>A client of the service's API on 127.0.0.1, sending the API key it was started with.</summary>
    public HttpClient Client { get; }

    /// <summary>The process id (for /proc readings such as resident memory).</summary>
    public int ProcessId => _process.Id;

    /// <summary>
    /// Starts the service on 127.0.0.1:<paramref name="port"/> with one API key (any sender) and
    /// <paramref name="settings"/> (environment variables, e.g. <c>Smtp__Port</c>, which win over the defaults here),
    /// and waits until <c>/health/ready</c> answers 200. Its output goes to <paramref name="logFile"/>, or nowhere.
    /// <paramref name="dll"/> is the service to run (by default the MailApi.dll beside the calling assembly), and
    /// <paramref name="workingDirectory"/> its content root, where it reads appsettings.json (by default a new empty folder).
    /// A port free when it was picked can be taken before the service binds it (any client socket may get it as its local
    /// port): the service then exits at once, and is started again on another free port (<see cref="Client"/> has it).
    /// </summary>
    public static async Task<ServiceProcess> StartAsync(int port, string apiKey, IDictionary<string, string> settings,
        string? logFile = null, string? dll = null, string? workingDirectory = null)
    {
        for (var tries = 1; ; tries++)
        {
            try
            {
                return await StartOnAsync(port, apiKey, settings, logFile, dll, workingDirectory);
            }
            catch (PortTakenException) when (tries < 5)
            {
                port = FreePort.Get();
            }
        }
    }

    private sealed class PortTakenException(string message) : InvalidOperationException(message);

    private static async Task<ServiceProcess> StartOnAsync(int port, string apiKey, IDictionary<string, string> settings,
        string? logFile, string? dll, string? workingDirectory)
    {
        var start = new ProcessStartInfo("dotnet", [dll ?? Path.Combine(AppContext.BaseDirectory, "MailApi.dll")])
        {
            WorkingDirectory = workingDirectory ?? Directory.CreateTempSubdirectory("mailapi-instance-").FullName,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["Auth__ApiKeys__0__Name"] = "service-process";
        start.Environment["Auth__ApiKeys__0__Key"] = apiKey;
        start.Environment["Auth__ApiKeys__0__AllowedSenders__0"] = "*";
        foreach (var (key, value) in settings)
        {
            start.Environment[key] = value;
        }
        var process = Process.Start(start)!;
        // The output is always read, so that a full pipe never blocks the service.
        var log = logFile is null ? null : new StreamWriter(logFile, append: true) { AutoFlush = true };
        var portTaken = false;
        void Output(string? line)
        {
            portTaken |= line?.Contains("address already in use", StringComparison.OrdinalIgnoreCase) == true;
            Write(log, line);
        }
        process.OutputDataReceived += (_, e) => Output(e.Data);
        process.ErrorDataReceived += (_, e) => Output(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var service = new ServiceProcess(process, port, apiKey, log);
        // An exit ends the wait at once, even while a probe waits for the answer a loaded machine is slow to give.
        var exited = process.WaitForExitAsync();
        try
        {
            await Poll.UntilAsync(async () =>
            {
                var probe = service.Client.GetAsync("/health/ready");
                if (await Task.WhenAny(probe, exited) == exited)
                {
                    var why = $"The service exited with {process.ExitCode} at start; see {logFile ?? "(no log)"}";
                    throw portTaken ? new PortTakenException(why) : new InvalidOperationException(why);
                }
                try
                {
                    using var response = await probe;
                    return response.IsSuccessStatusCode;
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    return false;
                }
            }, TimeSpan.FromMinutes(3), () => $"the service to become ready; see {logFile ?? "(no log)"}");
            return service;
        }
        catch
        {
            service.Dispose();
            throw;
        }
    }

    /// <summary>SIGKILL: no shutdown, no QUIT, no last write.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
    }

    /// <summary>Kills the process if it still runs; a second call does nothing (a test's cleanup may repeat one it did).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        Kill();
        Client.Dispose();
        _process.Dispose();
        if (_log is not null)
        {
            lock (_log)
            {
                _log.Dispose();
            }
        }
    }

    private static void Write(StreamWriter? log, string? line)
    {
        if (log is null || line is null)
        {
            return;
        }
        lock (log)
        {
            try
            {
                log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // A last line after Dispose, from the killed process's pipe.
            }
        }
    }
}
