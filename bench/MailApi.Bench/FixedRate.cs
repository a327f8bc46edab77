using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;

namespace MailApi.Bench;

/// <summary>Figures of one fixed-rate run: the rate asked for and reached, and each POST's latency from its planned start.</summary>
internal sealed record FixedRateFigures(int Rate, double Seconds, int Sent, double AchievedPerSecond, double P50Ms, double P99Ms, double MaxMs,
    int Non2xx, int Errors, double DeliveredPerSecond, ThreadPoolFigures? ThreadPool);

/// <summary>
/// POST /v1/messages at a fixed rate, open loop: each request is started at its planned time whether or not the earlier
/// ones have been answered, and its latency counts from that planned time. A closed-loop client (wrk) slows down when the
/// service does, and so never sees the wait a caller at that rate would see.
/// </summary>
internal static class FixedRate
{
    /// <summary>How often the planner wakes to start the requests that are due; each one's latency still counts from its own time.</summary>
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(2);

    public static async Task<FixedRateFigures> RunAsync(ServiceProcess service, int rate, TimeSpan duration, SmtpSink? sink)
    {
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 512, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        {
            BaseAddress = service.BaseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };
        client.DefaultRequestHeaders.Add("X-Api-Key", ServiceProcess.ApiKey);
        var body = Encoding.UTF8.GetBytes(Payload.Json());
        var total = (int)(rate * duration.TotalSeconds);
        var latencies = new double[total];
        var non2xx = 0;
        var errors = 0;
        var requests = new List<Task>(total);
        var sinkBefore = sink?.Messages ?? 0;
        var from = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();

        async Task PostAsync(int i, TimeSpan planned)
        {
            try
            {
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var response = await client.PostAsync("/v1/messages", content);
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref non2xx);
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                Interlocked.Increment(ref errors);
            }
            latencies[i] = (clock.Elapsed - planned).TotalMilliseconds;
        }

        for (var next = 0; next < total;)
        {
            // Every request whose planned time has come starts now, at its own planned time for the latency.
            for (; next < total && TimeSpan.FromSeconds((double)next / rate) <= clock.Elapsed; next++)
            {
                requests.Add(PostAsync(next, TimeSpan.FromSeconds((double)next / rate)));
            }
            await Task.Delay(Tick);
        }
        var planEnded = clock.Elapsed;
        await Task.WhenAll(requests);
        var delivered = sink is null ? double.NaN : (sink.Messages - sinkBefore) / clock.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        return new FixedRateFigures(rate, duration.TotalSeconds, total, total / planEnded.TotalSeconds,
            Percentile(latencies, 0.50), Percentile(latencies, 0.99), latencies[^1], non2xx, errors, delivered,
            service.ThreadPoolBetween(from, DateTimeOffset.UtcNow));
    }

    private static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}
