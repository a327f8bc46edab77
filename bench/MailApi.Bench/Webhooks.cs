using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace MailApi.Bench;

/// <summary>Figures of the webhook runs: one endpoint subscribed to every event, the bench's own receiver answering 204.</summary>
/// <param name="LightMessages">Messages sent one at a time, each after the previous one's webhook arrived.</param>
/// <param name="LightP50Ms">Event-to-webhook latency at light load: the receiver's 2xx minus the event's own timestamp.</param>
/// <param name="LightP99Ms">The same, 99th percentile.</param>
/// <param name="Delivery">The delivery run with the endpoint subscribed (compare with the same run without it).</param>
/// <param name="LoadedP50Ms">Event-to-webhook latency of every <c>message.sent</c> event of <paramref name="Delivery"/>.</param>
/// <param name="LoadedP99Ms">The same, 99th percentile.</param>
/// <param name="LastWebhookAfterLastSentMs">How long after the last message was sent its webhook arrived (the backlog).</param>
/// <param name="Requests">Webhook requests the receiver answered in the delivery run.</param>
/// <param name="Repeated">Requests that carried a <c>webhook-id</c> the receiver had already answered (at-least-once).</param>
internal sealed record WebhookFigures(
    int LightMessages, double LightP50Ms, double LightP99Ms,
    DeliveryFigures Delivery, double LoadedP50Ms, double LoadedP99Ms, double LastWebhookAfterLastSentMs,
    int Requests, int Repeated);

/// <summary>
/// The webhook receiver of the bench: Kestrel on 127.0.0.1, answering every POST with 204 and keeping, for each request,
/// the event type, the event's timestamp (the service's clock: the moment of the status change), the message id, the
/// <c>webhook-id</c> and when the request arrived (this machine's same clock).
/// </summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    internal sealed record Arrival(string Type, DateTimeOffset Timestamp, DateTimeOffset Received, Guid MessageId, string WebhookId);

    private readonly WebApplication _app;
    private ConcurrentQueue<Arrival> _arrivals = new();

    private WebhookReceiver(WebApplication app, int port)
    {
        _app = app;
        Url = $"http://127.0.0.1:{port}/hook";
    }

    public string Url { get; }

    public IReadOnlyCollection<Arrival> Arrivals => _arrivals;

    public void Reset() => _arrivals = new();

    public static async Task<WebhookReceiver> StartAsync()
    {
        var port = FreePort.Get();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, port);
        app.MapPost("/hook", async (HttpRequest request) =>
        {
            using var body = await JsonDocument.ParseAsync(request.Body);
            var e = body.RootElement;
            receiver._arrivals.Enqueue(new Arrival(
                e.GetProperty("type").GetString()!, e.GetProperty("timestamp").GetDateTimeOffset(), DateTimeOffset.UtcNow,
                e.GetProperty("data").TryGetProperty("id", out var id) ? id.GetGuid() : Guid.Empty,
                request.Headers["webhook-id"].ToString()));
            return Results.NoContent();
        });
        await app.StartAsync();
        return receiver;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

/// <summary>Event-to-webhook latency and the delivery rate with one endpoint subscribed to every event.</summary>
internal static class WebhookBench
{
    /// <summary>What the service needs to send to the bench's plain-http receiver on 127.0.0.1.</summary>
    public static readonly IReadOnlyDictionary<string, string> Settings = new Dictionary<string, string>
    {
        ["Webhooks__AllowHttp"] = "true",
        ["Webhooks__AllowPrivateTargets"] = "true",
    };

    /// <summary>The light-load latencies, then the loaded run, whose every <c>message.sent</c> webhook is waited for.</summary>
    /// <param name="service">The service, with <see cref="Settings"/>.</param>
    /// <param name="load">The load that POSTs to it.</param>
    /// <param name="receiver">The receiver the endpoint is created for.</param>
    /// <param name="lightMessages">Messages sent one at a time first.</param>
    /// <param name="messages">Messages of the loaded run.</param>
    /// <param name="beforeLoaded">Called just before the loaded run, e.g. to reset counters read once every webhook of it arrived.</param>
    public static async Task<WebhookFigures> RunAsync(ServiceProcess service, ServiceLoad load, WebhookReceiver receiver, int lightMessages, int messages,
        Func<Task>? beforeLoaded = null)
    {
        using var http = new HttpClient { BaseAddress = service.BaseAddress, DefaultRequestHeaders = { { "X-Api-Key", ServiceProcess.ApiKey } } };
        using (var created = await http.PostAsJsonAsync("/v1/webhooks", new { url = receiver.Url, description = "bench receiver, every event" }))
        {
            if (!created.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"Creating the webhook endpoint answered {(int)created.StatusCode}: {await created.Content.ReadAsStringAsync()}");
            }
        }

        // Light load: one message at a time, the next once the previous one's message.sent webhook has arrived.
        var light = new List<double>();
        for (var i = 0; i < lightMessages; i++)
        {
            receiver.Reset();
            var id = Guid.Parse((await load.SubmitAsync(1, 1))[0]);
            var sent = await WaitForAsync(receiver, a => a.MessageId == id, 1, TimeSpan.FromMinutes(1));
            light.AddRange(sent.Select(a => (a.Received - a.Timestamp).TotalMilliseconds));
            await Task.Delay(10);
        }
        light.Sort();

        // Loaded: the delivery run of the other figures, with every message.sent webhook waited for after it.
        receiver.Reset();
        if (beforeLoaded is not null)
        {
            await beforeLoaded();
        }
        var delivery = await load.DeliverAsync(messages);
        var all = await WaitForAsync(receiver, _ => true, delivery.Sent, TimeSpan.FromMinutes(10));
        var loaded = all.Select(a => (a.Received - a.Timestamp).TotalMilliseconds).Order().ToList();
        var lastSent = all.Max(a => a.Timestamp);
        var lastWebhook = all.Max(a => a.Received);
        var requests = receiver.Arrivals.ToList();
        var repeated = requests.Count - requests.Select(a => a.WebhookId).Distinct().Count();
        return new WebhookFigures(lightMessages, ServiceLoad.Percentile(light, 0.50), ServiceLoad.Percentile(light, 0.99),
            delivery, ServiceLoad.Percentile(loaded, 0.50), ServiceLoad.Percentile(loaded, 0.99),
            (lastWebhook - lastSent).TotalMilliseconds, requests.Count, repeated);
    }

    /// <summary>Waits until the receiver has <c>message.sent</c> events of <paramref name="want"/> distinct messages that
    /// <paramref name="which"/> picks; gives the first arrival of each.</summary>
    private static async Task<List<WebhookReceiver.Arrival>> WaitForAsync(WebhookReceiver receiver, Func<WebhookReceiver.Arrival, bool> which, int want, TimeSpan patience)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var sent = receiver.Arrivals.Where(a => a.Type == "message.sent" && which(a))
                .GroupBy(a => a.MessageId).Select(g => g.MinBy(a => a.Received)!).ToList();
            if (sent.Count >= want)
            {
                return sent;
            }
            if (watch.Elapsed > patience)
            {
                throw new TimeoutException($"{sent.Count} of {want} message.sent webhooks arrived in {patience}");
            }
            await Task.Delay(want == 1 ? 1 : 50);
        }
    }
}
