using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using MailApi.Hosting;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
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

    /// <summary>Everything the service logged, at every level.</summary>
    public LogSink Logs { get; } = new();

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
    }

    /// <summary>A client that sends <paramref name="key"/> as a Bearer token.</summary>
    public HttpClient ClientFor(string key = AlphaKey)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    /// <summary>Polls GET /v1/messages/{id} until the status is one of <paramref name="statuses"/>.</summary>
    public static async Task<JsonObject> WaitForStatusAsync(HttpClient client, string id, TimeSpan timeout, params string[] statuses)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonObject? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{id}");
            if (statuses.Contains((string?)last!["status"]))
            {
                return last;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"Message {id} did not reach {string.Join("/", statuses)} within {timeout}; last seen: {last}");
    }

    private static JsonSerializerOptions CreateJson()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        HostingExtensions.ConfigureJson(options);
        return options;
    }
}
