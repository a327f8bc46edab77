using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MimeKit;

namespace MailApi.Bench;

/// <summary>The message every load sends: ~2 KB of text to one recipient.</summary>
internal static class Payload
{
    public const int BodyBytes = 2000;
    public static readonly string Text = string.Join("\r\n", Enumerable.Range(0, BodyBytes / 80).Select(i => $"{i:D3} " + new string('x', 74)));

    public static string Json(DateTimeOffset? sendAt = null) => JsonSerializer.Serialize(new
    {
        from = "Bench <bench@domain.local>",
        to = new[] { "sink@domain.local" },
        subject = "Benchmark message",
        text = Text,
        sendAt,
    }, new JsonSerializerOptions { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull });

    /// <summary>A body for POST /v1/messages/batch: <paramref name="count"/> copies of <see cref="Json"/>'s message.</summary>
    public static string BatchJson(int count) => "{\"messages\":[" + string.Join(',', Enumerable.Repeat(Json(), count)) + "]}";

    public static MimeMessage Mime()
    {
        var message = new MimeMessage { Subject = "Benchmark message" };
        message.From.Add(new MailboxAddress("Bench", "bench@domain.local"));
        message.To.Add(new MailboxAddress("", "sink@domain.local"));
        message.Body = new TextPart("plain") { Text = Text };
        return message;
    }
}

/// <summary>Figures of one delivery run through the service.</summary>
internal sealed record DeliveryFigures(
    int Messages, int Sent, double MessagesPerSecond, double SubmitPerSecond,
    double AcceptToSentP50Ms, double AcceptToSentP99Ms,
    long RssBeforeBytes, long RssAfterBytes, long PeakRssBytes, double GrowthPerMessageBytes,
    long Connections);

/// <summary>Accept-to-sent at light load (<see cref="ServiceLoad.LightLoadLatencyAsync"/>), messages one at a time.</summary>
internal sealed record LightLoad(int Messages, double P50Ms, double P95Ms, double P99Ms)
{
    public static async Task<LightLoad> MeasureAsync(ServiceLoad load, int count)
    {
        var (p50, p95, p99) = await load.LightLoadLatencyAsync(count);
        return new LightLoad(count, p50, p95, p99);
    }
}

/// <summary>A queue drain: <see cref="ServiceLoad.DrainAsync"/>'s figures.</summary>
internal sealed record DrainFigures(double MessagesPerSecond, int Sent, bool SubmittedBeforeSendAt)
{
    public static DrainFigures Of((double Rate, int Sent, bool InTime) d) => new(d.Rate, d.Sent, d.InTime);
}

/// <summary>How the bench learns that messages are final: over the API (in-memory mode) or from the database.</summary>
internal interface IFinalStatus
{
    /// <summary>Waits until every message has a final status; gives (createdAt, sentAt or null, last connection id) for each.</summary>
    Task<List<(DateTimeOffset Created, DateTimeOffset? Sent, string? ConnectionId)>> WaitForFinalAsync(IReadOnlyList<string> ids, TimeSpan patience);
}

/// <summary>Drives the service over HTTP.</summary>
internal sealed class ServiceLoad : IDisposable, IFinalStatus
{
    private readonly ServiceProcess service;
    private readonly IFinalStatus _final;
    private readonly HttpClient _http;

    /// <param name="service">The service to drive.</param>
    /// <param name="final">How to wait for final statuses; the API (GET per message) by default.</param>
    /// <param name="apiKey">The key it sends with; the bench's by default.</param>
    public ServiceLoad(ServiceProcess service, IFinalStatus? final = null, string apiKey = ServiceProcess.ApiKey)
    {
        this.service = service;
        _final = final ?? this;
        _http = new(new SocketsHttpHandler { MaxConnectionsPerServer = 256, UseProxy = false })
        {
            BaseAddress = service.BaseAddress,
            DefaultRequestHeaders = { { "X-Api-Key", apiKey } },
            Timeout = TimeSpan.FromMinutes(2),
        };
    }

    public void Dispose() => _http.Dispose();

    /// <summary>Until no message of the bench's key is queued or sending (scheduled ones, an hour ahead, stay).</summary>
    public async Task WaitUntilNothingQueuedAsync(TimeSpan patience)
    {
        var deadline = DateTime.UtcNow + patience;
        foreach (var status in (string[])["queued", "sending"])
        {
            while ((await _http.GetFromJsonAsync<JsonObject>($"/v1/messages?status={status}&limit=1"))!["items"]!.AsArray().Count > 0)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"messages still {status} after {patience}");
                }
                await Task.Delay(200);
            }
        }
    }

    /// <summary>
    /// Brings the service to the code it runs once it has been up a while, before anything is measured: wrk POSTs (32
    /// connections, delivered meanwhile) for <paramref name="seconds"/> in slices of <see cref="WarmUpSlice"/>, a few
    /// batches, then until nothing is queued. A fresh .NET process runs unoptimized code at first: tiered compilation and
    /// dynamic PGO promote hot methods on a background thread, which two busy cores starve. On this machine the POST rate
    /// climbs slowly for about 30 s of load and then steps up (406, 457, 498, 534, 659, 1,043, 1,138 a second, 5 s each),
    /// and measured after a second of warm-up the in-memory service drained about half as fast, and POSTed about a third as
    /// fast, as after 45 s. So the warm-up is a fixed time, not "until the rate stops rising". Gives each slice's requests
    /// per second.
    /// </summary>
    public async Task<IReadOnlyList<double>> WarmUpAsync(int seconds, SmtpSink? sink)
    {
        var slices = new List<double>();
        while (slices.Count * WarmUpSlice.TotalSeconds < seconds)
        {
            slices.Add((await Wrk.RunAsync(service, 32, WarmUpSlice, sink)).RequestsPerSecond);
        }
        await WaitUntilNothingQueuedAsync(TimeSpan.FromMinutes(10));
        await DeliverAsync(Math.Min(1000, Math.Max(100, seconds * 20)), 100);
        return slices;
    }

    public static readonly TimeSpan WarmUpSlice = TimeSpan.FromSeconds(5);

    /// <summary>The ids of the last delivery run's messages.</summary>
    public IReadOnlyList<string> LastIds { get; private set; } = [];

    /// <summary>How many of the last delivery run's messages, read over the API, match <paramref name="which"/>.</summary>
    public async Task<int> CountLastAsync(Func<JsonObject, bool> which)
    {
        var count = 0;
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < LastIds.Count)
            {
                if (which((await _http.GetFromJsonAsync<JsonObject>($"/v1/messages/{LastIds[i]}"))!))
                {
                    Interlocked.Increment(ref count);
                }
            }
        }));
        return count;
    }

    /// <summary>POSTs <paramref name="count"/> messages, <paramref name="concurrency"/> at a time; gives their ids (from Location).</summary>
    public async Task<List<string>> SubmitAsync(int count, int concurrency, DateTimeOffset? sendAt = null)
    {
        var body = Encoding.UTF8.GetBytes(Payload.Json(sendAt));
        var ids = new string[count];
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                while (true)
                {
                    using var content = new ByteArrayContent(body) { Headers = { { "Content-Type", "application/json" } } };
                    using var response = await _http.PostAsync("/v1/messages", content);
                    if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                    {
                        await Task.Delay(100); // back-pressure: the queue is full; try again
                        continue;
                    }
                    response.EnsureSuccessStatusCode();
                    ids[i] = response.Headers.Location!.OriginalString.Split('/')[^1];
                    break;
                }
            }
        }));
        return [.. ids];
    }

    /// <summary>POSTs <paramref name="count"/> messages to /v1/messages/batch, <paramref name="batchSize"/> a request and
    /// <paramref name="concurrency"/> requests at a time; gives their ids in order.</summary>
    public async Task<List<string>> SubmitBatchesAsync(int count, int batchSize, int concurrency)
    {
        var batches = (count + batchSize - 1) / batchSize;
        var ids = new List<string>[batches];
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int b;
            while ((b = Interlocked.Increment(ref next)) < batches)
            {
                var size = Math.Min(batchSize, count - b * batchSize);
                var body = Encoding.UTF8.GetBytes(Payload.BatchJson(size));
                while (true)
                {
                    using var content = new ByteArrayContent(body) { Headers = { { "Content-Type", "application/json" } } };
                    using var response = await _http.PostAsync("/v1/messages/batch", content);
                    if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                    {
                        await Task.Delay(100);
                        continue;
                    }
                    response.EnsureSuccessStatusCode();
                    var result = await response.Content.ReadFromJsonAsync<JsonObject>();
                    ids[b] = [.. result!["items"]!.AsArray().Select(m => (string)m!["id"]!)];
                    break;
                }
            }
        }));
        return [.. ids.SelectMany(i => i)];
    }

    /// <summary>Waits until every message has a final status; gives (createdAt, sentAt or null) for each.</summary>
    public Task<List<(DateTimeOffset Created, DateTimeOffset? Sent, string? ConnectionId)>> WaitForFinalAsync(IReadOnlyList<string> ids, TimeSpan patience) =>
        WaitOverApiAsync(ids, patience, TimeSpan.FromMilliseconds(50));

    private async Task<List<(DateTimeOffset Created, DateTimeOffset? Sent, string? ConnectionId)>> WaitOverApiAsync(IReadOnlyList<string> ids, TimeSpan patience, TimeSpan poll)
    {
        var deadline = DateTime.UtcNow + patience;
        var results = new (DateTimeOffset, DateTimeOffset?, string?)[ids.Count];
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, Math.Min(8, ids.Count)).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < ids.Count)
            {
                while (true)
                {
                    var message = await _http.GetFromJsonAsync<JsonObject>($"/v1/messages/{ids[i]}");
                    var status = (string?)message!["status"];
                    if (status is "sent" or "failed" or "partially_sent" or "canceled")
                    {
                        var attempts = message["attempts"]!.AsArray();
                        results[i] = (Parse(message["createdAt"]), status == "sent" ? Parse(message["sentAt"]) : null,
                            attempts.Count > 0 ? (string?)attempts[^1]!["connectionId"] : null);
                        break;
                    }
                    if (DateTime.UtcNow > deadline)
                    {
                        throw new TimeoutException($"Message {ids[i]} is still {status} after {patience}");
                    }
                    await Task.Delay(poll);
                }
            }
        }));
        return [.. results];
    }

    /// <summary>
    /// The delivery run: <paramref name="count"/> messages POSTed as fast as 32 clients go, then the time from the
    /// first accept to the last sent (the service's own createdAt and sentAt), and memory before, during and after.
    /// </summary>
    /// <param name="count">How many messages.</param>
    /// <param name="batchSize">With a value: POST /v1/messages/batch with that many messages a request, 8 requests at a time.</param>
    public async Task<DeliveryFigures> DeliverAsync(int count, int? batchSize = null)
    {
        return await DeliverAsync(count, () => batchSize is { } size ? SubmitBatchesAsync(count, size, 8) : SubmitAsync(count, 32));
    }

    /// <summary>
    /// The delivery run through two instances on one database: each gets half of <paramref name="count"/> single POSTs
    /// from 16 clients of its own, both at once; the figures are the pair's (memory: this instance's).
    /// </summary>
    public Task<DeliveryFigures> DeliverPairAsync(ServiceLoad other, int count) => DeliverAsync(count, async () =>
    {
        var halves = await Task.WhenAll(SubmitAsync(count / 2, 16), other.SubmitAsync(count - count / 2, 16));
        return [.. halves[0], .. halves[1]];
    });

    private async Task<DeliveryFigures> DeliverAsync(int count, Func<Task<List<string>>> submit)
    {
        var rssBefore = service.Rss;
        service.ResetPeak();
        var watch = Stopwatch.StartNew();
        var ids = await submit();
        LastIds = ids;
        var submitRate = count / watch.Elapsed.TotalSeconds;
        var results = await _final.WaitForFinalAsync(ids, TimeSpan.FromMinutes(10));
        var rssAfter = service.Rss;
        var sent = results.Where(r => r.Sent is not null).ToList();
        var first = results.Min(r => r.Created);
        var last = sent.Count > 0 ? sent.Max(r => r.Sent!.Value) : first;
        var latencies = sent.Select(r => (r.Sent!.Value - r.Created).TotalMilliseconds).Order().ToList();
        return new DeliveryFigures(count, sent.Count, sent.Count / Math.Max((last - first).TotalSeconds, 1e-3), submitRate,
            Percentile(latencies, 0.50), Percentile(latencies, 0.99), rssBefore, rssAfter, service.PeakRss,
            (rssAfter - rssBefore) / (double)count, results.Select(r => r.ConnectionId).Distinct().LongCount());
    }

    /// <summary>
    /// Delivery alone, without ingestion competing for the CPU: <paramref name="count"/> messages are POSTed with one
    /// <c>sendAt</c> a little in the future, so they wait as <c>scheduled</c>; at that time they are all due at once, and
    /// the rate is the messages sent over the time from the first <c>sentAt</c> to the last.
    /// </summary>
    public async Task<(double MessagesPerSecond, int Sent, bool SubmittedInTime)> DrainAsync(int count, double submitPerSecond)
    {
        var margin = TimeSpan.FromSeconds(count / Math.Max(submitPerSecond * 0.6, 50) + 2);
        var sendAt = DateTimeOffset.UtcNow + margin;
        var ids = await SubmitAsync(count, 32, sendAt);
        var inTime = DateTimeOffset.UtcNow < sendAt;
        var results = await _final.WaitForFinalAsync(ids, TimeSpan.FromMinutes(10) + margin);
        var sent = results.Where(r => r.Sent is not null).ToList();
        // From the first sentAt rather than sendAt: Hangfire's scheduler releases delayed jobs by the whole second, so
        // messages may leave up to a second before their sendAt (a finding for the scheduling code, not for this bench).
        var first = sent.Count > 0 ? sent.Min(r => r.Sent!.Value) : sendAt;
        var last = sent.Count > 0 ? sent.Max(r => r.Sent!.Value) : sendAt;
        return ((sent.Count - 1) / Math.Max((last - first).TotalSeconds, 1e-3), sent.Count, inTime);
    }

    /// <summary>Accept-to-sent at light load: one message at a time, the next after the previous was final (polled over
    /// the API every 5 ms); p50, p95, p99 of sentAt − createdAt (the service's own clock).</summary>
    public async Task<(double P50, double P95, double P99)> LightLoadLatencyAsync(int count)
    {
        var latencies = new List<double>();
        for (var i = 0; i < count; i++)
        {
            var ids = await SubmitAsync(1, 1);
            var result = (await WaitOverApiAsync(ids, TimeSpan.FromMinutes(1), TimeSpan.FromMilliseconds(5)))[0];
            if (result.Sent is { } sent)
            {
                latencies.Add((sent - result.Created).TotalMilliseconds);
            }
            await Task.Delay(10);
        }
        latencies.Sort();
        return (Percentile(latencies, 0.50), Percentile(latencies, 0.95), Percentile(latencies, 0.99));
    }

    public static double Percentile(IReadOnlyList<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    private static DateTimeOffset Parse(JsonNode? node) =>
        DateTimeOffset.Parse((string)node!, CultureInfo.InvariantCulture);
}
