using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using MailApi.Telemetry;
using MailApi.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace MailApi.Tests.Telemetry;

/// <summary>
/// One trace from the POST through the Hangfire job to the SMTP dialogue, seen by an in-process listener (the spans
/// themselves) and by a real OTLP receiver (WireMock.Net) when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.
/// </summary>
[Collection(nameof(TelemetryCollection))]
public sealed class TracingTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    /// <summary>POSTs a message as part of the caller's trace <paramref name="traceId"/> and returns its id.</summary>
    private static async Task<string> SendInTraceAsync(HttpClient client, ActivityTraceId traceId, JsonObject body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = JsonContent.Create(body) };
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");
        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
    }

    [Fact]
    public async Task The_smtp_batches_share_the_trace_of_the_post_and_carry_the_message_id_but_no_address()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var relay = await TestSmtpServer.StartAsync();
        var scopes = new ScopeSink();
        using var factory = new MailApiFactory(relay.Port);
        using var service = factory.WithWebHostBuilder(b => b.ConfigureLogging(l => l.AddProvider(scopes)));
        var client = service.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", MailApiFactory.AlphaKey);
        var traceId = ActivityTraceId.CreateRandom();

        var id = await SendInTraceAsync(client, traceId, Bodies.Valid("student@domain.local"));
        await MailApiFactory.WaitForStatusAsync(client, id, Patience, "sent");
        List<Activity> trace = [];
        await Poll.UntilAsync(() =>
        {
            trace = [.. spans.Where(s => s.TraceId == traceId)];
            return trace.Any(s => s.DisplayName == "SMTP DATA_END") && trace.Any(s => s.Kind == ActivityKind.Consumer);
        }, Patience, "the end of data's span and the job's span to stop");

        var post = Assert.Single(trace, s => s.Kind == ActivityKind.Server);
        Assert.Equal("Microsoft.AspNetCore.Hosting.HttpRequestIn", post.OperationName);
        Assert.Equal(id, post.GetTagItem(MailApiTracing.MessageIdTag));
        var job = Assert.Single(trace, s => s.Source.Name == MailApiTracing.SourceName && s.Kind == ActivityKind.Consumer);
        Assert.Equal("DeliveryJob.RunAsync", job.DisplayName);
        Assert.Equal(post.SpanId, job.ParentSpanId);
        var deliver = Assert.Single(trace, s => s.DisplayName == "deliver");
        Assert.Equal(job.SpanId, deliver.ParentSpanId);
        Assert.Equal(id, deliver.GetTagItem(MailApiTracing.MessageIdTag));

        var batches = trace.Where(s => s.DisplayName.StartsWith("SMTP ", StringComparison.Ordinal)).OrderBy(s => s.StartTimeUtc).ToList();
        // The relay offers PIPELINING: MAIL FROM and RCPT TO go out as one batch.
        Assert.Equal(["GREETING", "EHLO", "MAIL RCPT", "DATA", "DATA_END"], batches.Select(b => (string?)b.GetTagItem("smtp.commands")));
        Assert.Equal([220, 250, 250, 354, 250], batches.Select(b => (int?)b.GetTagItem("smtp.reply.code")));
        Assert.All(batches, b =>
        {
            Assert.Equal(ActivityKind.Client, b.Kind);
            Assert.Equal(id, b.GetTagItem(MailApiTracing.MessageIdTag));
            Assert.Equal($"127.0.0.1:{relay.Port}", b.GetTagItem(MailApiTracing.RelayTag));
            Assert.NotEqual(ActivityStatusCode.Error, b.Status);
        });
        Assert.All(batches.Where(b => b.ParentSpanId != deliver.SpanId), b =>
            Assert.Equal(deliver.SpanId, trace.Single(s => s.SpanId == b.ParentSpanId).ParentSpanId));

        // No span of the trace names an address or carries the content, whatever its source (ours, ASP.NET Core, MailKit).
        Assert.All(trace.SelectMany(s => s.TagObjects), tag =>
        {
            Assert.DoesNotContain("@domain.local", tag.Value?.ToString() ?? "", StringComparison.Ordinal);
            Assert.DoesNotContain("simple message", tag.Value?.ToString() ?? "", StringComparison.Ordinal);
        });

        // The job's log lines carry the message id in their scope, also those whose text does not name it.
        var attemptLine = Assert.Single(scopes.Lines, l => l.Category == typeof(MailApi.Delivery.DeliveryJob).FullName && l.Text.Contains("attempt 1"));
        Assert.Contains($"MessageId={id}", attemptLine.Scopes);
        Assert.Contains(scopes.Lines, l => l.Category.StartsWith("MailApi.Delivery.Smtp", StringComparison.Ordinal) is false
            && l.Scopes.Contains($"MessageId={id}"));
    }

    [Fact]
    public async Task Spans_are_posted_to_the_otlp_endpoint_when_one_is_configured()
    {
        using var collector = new WebhookReceiver();
        collector.Server.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200));
        await using var relay = await TestSmtpServer.StartAsync();
        // Its own process, configured as an operator would: the variable is read at start, before any host setting applies.
        using var service = await ServiceProcess.StartAsync(FreePort.Get(), MailApiFactory.AlphaKey, new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Url(""),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            ["Smtp__Host"] = "127.0.0.1",
            ["Smtp__Port"] = relay.Port.ToString(),
            ["Smtp__Security"] = "None",
        }, Path.Combine(Path.GetTempPath(), "mailapi-otlp-test.log"));
        var client = service.Client;

        var id = await SendInTraceAsync(client, ActivityTraceId.CreateRandom(), Bodies.Valid("student@domain.local"));
        await MailApiFactory.WaitForStatusAsync(client, id, Patience, "sent");
        // A search by address: its span keeps the query's names, not their values.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/messages?to=student@domain.local")).StatusCode);
        WebhookReceiver.Received? export = null;
        await Poll.UntilAsync(() =>
        {
            // Protocol buffers keep strings as UTF-8 bytes: the span names and tag values can be found in the body.
            var exports = collector.Requests("/v1/traces");
            export = exports.FirstOrDefault(r => r.Body.Contains("SMTP DATA_END", StringComparison.Ordinal));
            return Task.FromResult(export is not null && exports.Any(r => r.Body.Contains("to=Redacted", StringComparison.Ordinal)));
        }, Patience, () => "OTLP exports at /v1/traces with the end of data's span and the search's; received: "
            + string.Join(", ", collector.Server.LogEntries.Select(e => $"{e.RequestMessage!.Method} {e.RequestMessage.Path} {e.RequestMessage.BodyAsBytes?.Length}")));

        Assert.Equal("application/x-protobuf", export!.Header("Content-Type"));
        Assert.Contains(id, export.Body, StringComparison.Ordinal);
        Assert.Contains("mailapi", export.Body, StringComparison.Ordinal);
        Assert.All(collector.Requests("/v1/traces"), r => Assert.DoesNotContain("@domain.local", r.Body, StringComparison.Ordinal));
    }

    /// <summary>Log lines with the scopes they were written in, as <c>Key=Value</c> pairs.</summary>
    private sealed class ScopeSink : ILoggerProvider, ISupportExternalScope
    {
        private readonly ConcurrentQueue<Line> _lines = new();
        private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

        public IReadOnlyCollection<Line> Lines => _lines;

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

        public void Dispose()
        {
        }

        public sealed record Line(string Category, string Text, string Scopes);

        private sealed class Logger(ScopeSink sink, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => sink._scopes.Push(state);

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var scopes = new StringBuilder();
                sink._scopes.ForEachScope((scope, text) =>
                {
                    foreach (var pair in scope as IEnumerable<KeyValuePair<string, object>> ?? [])
                    {
                        text.Append(pair.Key).Append('=').Append(pair.Value).Append(' ');
                    }
                }, scopes);
                sink._lines.Enqueue(new Line(category, formatter(state, exception), scopes.ToString()));
            }
        }
    }
}
