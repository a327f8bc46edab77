using System.Globalization;
using System.Text.RegularExpressions;

namespace MailApi.Bench;

/// <summary>Figures of one wrk run.</summary>
internal sealed record IngestionFigures(int Connections, double Seconds, double RequestsPerSecond, double P50Ms, double P99Ms, long Non2xx,
    double DeliveredPerSecond, ThreadPoolFigures? ThreadPool = null);

/// <summary>POST /v1/messages with wrk (C, Lua script) at a fixed number of connections.</summary>
internal static partial class Wrk
{
    /// <param name="service">The service.</param>
    /// <param name="connections">wrk's connections.</param>
    /// <param name="duration">How long wrk runs.</param>
    /// <param name="sink">The relay, to count what was delivered meanwhile (none: not counted).</param>
    /// <param name="scheduled">Every message with a sendAt an hour ahead: the POST path alone, no delivery follows.</param>
    /// <param name="body">Another message than <see cref="Payload.Json"/>'s.</param>
    /// <param name="apiKey">Another key than the bench's.</param>
    public static async Task<IngestionFigures> RunAsync(ServiceProcess service, int connections, TimeSpan duration, SmtpSink? sink, bool scheduled = false,
        string? body = null, string apiKey = ServiceProcess.ApiKey)
    {
        var script = Path.Combine(Path.GetTempPath(), $"mailapi-bench-{Environment.ProcessId}.lua");
        await File.WriteAllTextAsync(script, $$"""
            wrk.method = "POST"
            wrk.headers["Content-Type"] = "application/json"
            wrk.headers["X-Api-Key"] = "{{apiKey}}"
            wrk.body = [==[{{body ?? Payload.Json(scheduled ? DateTimeOffset.UtcNow.AddHours(1) : null)}}]==]
            """);
        try
        {
            var sinkBefore = sink?.Messages ?? 0;
            var started = DateTimeOffset.UtcNow;
            var (code, output, elapsed) = await Tool.RunAsync("wrk",
                ["-t", Math.Min(2, connections).ToString(), "-c", connections.ToString(), "-d", $"{(int)duration.TotalSeconds}s", "--latency", "-s", script,
                 $"{service.BaseAddress}v1/messages"], duration + TimeSpan.FromMinutes(1));
            var delivered = sink is null ? double.NaN : (sink.Messages - sinkBefore) / elapsed.TotalSeconds;
            var threadPool = service.ThreadPoolBetween(started + TimeSpan.FromSeconds(0.5), DateTimeOffset.UtcNow);
            if (code != 0)
            {
                throw new InvalidOperationException($"wrk failed ({code}): {output}");
            }
            return new IngestionFigures(connections, duration.TotalSeconds,
                double.Parse(Rps().Match(output).Groups[1].Value, CultureInfo.InvariantCulture),
                Latency(output, "50%"), Latency(output, "99%"),
                Non2xx().Match(output) is { Success: true } m ? long.Parse(m.Groups[1].Value) : 0,
                delivered, threadPool);
        }
        finally
        {
            File.Delete(script);
        }
    }

    private static double Latency(string output, string percentile)
    {
        var m = Regex.Match(output, $@"^\s+{Regex.Escape(percentile)}\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        if (!m.Success)
        {
            return double.NaN;
        }
        var value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return m.Groups[2].Value switch { "us" => value / 1000, "s" => value * 1000, _ => value };
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex Rps();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex Non2xx();
}
