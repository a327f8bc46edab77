using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using MailApi.Http;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MailApi.Tests.Infrastructure;

/// <summary>
/// The real service in-process, configured for tests: environment "Testing" (no dev relay, no dev key),
/// two API keys, the relay at <c>127.0.0.1:smtpPort</c>, and a retry schedule of seconds.
/// </summary>
public sealed class MailApiFactory(int smtpPort, IDictionary<string, string?>? settings = null, string environment = "Testing")
    : WebApplicationFactory<Program>
{
    public const string AlphaKey = "alpha-secret-key";
    public const string BetaKey = "beta-secret-key";

    public static readonly JsonSerializerOptions Json = CreateJson();

    /// <summary>Which factory made a client, so a timeout can show that service's log.</summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<HttpClient, MailApiFactory> Owners = new();

    /// <summary>Everything the service logged, at every level.</summary>
    public LogSink Logs { get; } = new();

    /// <summary>Changes to the service's registrations, applied after its own (a test double below the network line).</summary>
    public Action<IServiceCollection>? TestServices { get; init; }

    /// <summary>
    /// Hangfire's log provider is the process's, and the service sets it from the first host it builds, whose logger
    /// factory is disposed with it while other hosts of the test run still log through it: the tests swap in one that
    /// outlives every host as soon as the first host is built (no host can have been disposed yet).
    /// </summary>
    protected override Microsoft.Extensions.Hosting.IHost CreateHost(Microsoft.Extensions.Hosting.IHostBuilder builder)
    {
        var host = base.CreateHost(builder);
        Hangfire.Logging.LogProvider.SetCurrentLogProvider(HangfireLogs.Instance);
        return host;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(environment);
        var values = new Dictionary<string, string?>
        {
            ["Smtp:Host"] = "127.0.0.1",
            ["Smtp:Port"] = smtpPort.ToString(),
            ["Smtp:Security"] = "StartTlsWhenAvailable",
            ["Smtp:AcceptAnyCertificate"] = "true",
            ["Smtp:Timeout"] = "00:00:05",
            ["Smtp:HeloName"] = "mailapi.test",
            ["Delivery:RetryDelays:0"] = "00:00:01",
            ["Delivery:RetryDelays:1"] = "00:00:01",
            ["Delivery:RetryDelays:2"] = "00:00:01",
            ["Delivery:SchedulePollingInterval"] = "00:00:00.2",
        };
        // Development brings its own dev key; elsewhere the tests' two keys are the only ones.
        var keys = environment == "Development" ? new Dictionary<string, string?>() : new Dictionary<string, string?>
        {
            ["Auth:ApiKeys:0:Name"] = "alpha",
            ["Auth:ApiKeys:0:Key"] = AlphaKey,
            ["Auth:ApiKeys:0:AllowedSenders:0"] = "@domain.local",
            ["Auth:ApiKeys:1:Name"] = "beta",
            ["Auth:ApiKeys:1:Key"] = BetaKey,
            ["Auth:ApiKeys:1:AllowedSenders:0"] = "*",
        };
        foreach (var (key, value) in keys)
        {
            values[key] = value;
        }
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }
        builder.ConfigureAppConfiguration(c => c.AddInMemoryCollection(values));
        builder.ConfigureLogging(l => l.SetMinimumLevel(LogLevel.Trace).AddProvider(Logs));
        if (TestServices is { } services)
        {
            builder.ConfigureTestServices(services);
        }
    }

    /// <summary>A client that sends <paramref name="key"/> as a Bearer token.</summary>
    public HttpClient ClientFor(string key = AlphaKey)
    {
        var client = CreateClient();
        Owners.AddOrUpdate(client, this);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    /// <summary>POSTs one message, asserts its <c>202</c> and returns its id.</summary>
    public static async Task<string> SendAsync(HttpClient client, JsonObject body)
    {
        var response = await client.PostAsJsonAsync("/v1/messages", body);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        return (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
    }

    /// <summary>Polls GET /v1/messages/{id} until the status is one of <paramref name="statuses"/>.</summary>
    public static async Task<JsonObject> WaitForStatusAsync(HttpClient client, string id, TimeSpan timeout, params string[] statuses)
    {
        JsonObject? last = null;
        await Poll.UntilAsync(
            async () =>
            {
                last = await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{id}");
                return statuses.Contains((string?)last!["status"]);
            },
            timeout,
            () => $"message {id} to reach {string.Join("/", statuses)}; last seen: {last}"
                + (Owners.TryGetValue(client, out var factory) ? "\n" + factory.HangfireState() + $"\nWhole log: {factory.DumpLog(id)}\nService log:\n" + string.Join("\n", factory.Logs.Lines.Where(l => !l.Contains(" Microsoft.AspNetCore", StringComparison.Ordinal) && !l.StartsWith("Debug MailApi.Auth", StringComparison.Ordinal)).TakeLast(60)) : ""));
        return last!;
    }

    /// <summary>
    /// Waits until Hangfire holds no job enqueued, scheduled or processing: no attempt runs and none is planned, so a
    /// test can check that something did not happen (a retry, a second copy) without waiting for time to pass.
    /// </summary>
    public Task WaitUntilIdleAsync(TimeSpan timeout)
    {
        var monitor = Services.GetRequiredService<Hangfire.JobStorage>().GetMonitoringApi();
        return Poll.UntilAsync(
            () => Task.FromResult(monitor.GetStatistics() is { Enqueued: 0, Scheduled: 0, Processing: 0 }),
            timeout,
            () => "Hangfire to have nothing enqueued, scheduled or processing; " + HangfireState());
    }

    /// <summary>
    /// Makes every scheduled Hangfire job due now (enqueued), as if its time had come: a test of what happens at a
    /// message's time need not wait for the time.
    /// </summary>
    public void RunScheduledJobsNow()
    {
        var storage = Services.GetRequiredService<Hangfire.JobStorage>();
        var jobs = new Hangfire.BackgroundJobClient(storage);
        foreach (var (jobId, _) in storage.GetMonitoringApi().ScheduledJobs(0, int.MaxValue))
        {
            jobs.ChangeState(jobId, new Hangfire.States.EnqueuedState(), Hangfire.States.ScheduledState.StateName);
        }
    }

    /// <summary>Writes everything the service logged to a temp file and returns its path.</summary>
    public string DumpLog(string name)
    {
        var path = Path.Combine(Path.GetTempPath(), $"mailapi-test-{name}.log");
        File.WriteAllLines(path, Logs.Lines);
        return path;
    }

    /// <summary>What Hangfire's servers and queues look like, for a test that waited in vain.</summary>
    public string HangfireState()
    {
        var monitor = Services.GetRequiredService<Hangfire.JobStorage>().GetMonitoringApi();
        var stats = monitor.GetStatistics();
        var servers = string.Join("; ", monitor.Servers().Select(s => $"{s.Name} workers={s.WorkersCount} heartbeat={s.Heartbeat:O}"));
        return $"Hangfire: enqueued={stats.Enqueued} scheduled={stats.Scheduled} processing={stats.Processing} succeeded={stats.Succeeded} "
            + $"failed={stats.Failed} servers=[{servers}] now={DateTime.UtcNow:O} threads={System.Threading.ThreadPool.ThreadCount} pending={System.Threading.ThreadPool.PendingWorkItemCount}";
    }

    private static JsonSerializerOptions CreateJson()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        ApiJson.Configure(options);
        return options;
    }
}
