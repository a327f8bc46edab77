using System.Diagnostics;

namespace MailApi.Testing;

/// <summary>
/// The service as its own process (<c>dotnet MailApi.dll</c>, Production, configured by environment variables), for
/// what an in-process host cannot show: being killed with SIGKILL.
/// </summary>
public sealed class ServiceProcess : IDisposable
{
    private readonly Process _process;

    public int Port { get; }
    public string LogFile { get; }
    public HttpClient Client { get; }

    private ServiceProcess(Process process, int port, string logFile, string apiKey)
    {
        _process = process;
        Port = port;
        LogFile = logFile;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        Client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
    }

    /// <summary>Starts the service and waits until <c>/health/ready</c> answers 200.</summary>
    public static async Task<ServiceProcess> StartAsync(int port, string apiKey, IDictionary<string, string> settings, string logFile)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "MailApi.dll");
        var start = new ProcessStartInfo("dotnet", [dll])
        {
            WorkingDirectory = Directory.CreateTempSubdirectory("mailapi-instance-").FullName,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["Auth__ApiKeys__0__Name"] = "kill-test";
        start.Environment["Auth__ApiKeys__0__Key"] = apiKey;
        start.Environment["Auth__ApiKeys__0__AllowedSenders__0"] = "*";
        foreach (var (key, value) in settings)
        {
            start.Environment[key] = value;
        }
        var process = Process.Start(start)!;
        var log = new StreamWriter(logFile, append: true) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var service = new ServiceProcess(process, port, logFile, apiKey);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The service exited with {process.ExitCode} at start; see {logFile}");
            }
            try
            {
                if ((await service.Client.GetAsync("/health/ready")).IsSuccessStatusCode)
                {
                    return service;
                }
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(200);
        }
        service.Dispose();
        throw new TimeoutException($"The service did not become ready within 60 s; see {logFile}");
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

    public void Dispose()
    {
        Kill();
        Client.Dispose();
        _process.Dispose();
    }
}
