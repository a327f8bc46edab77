using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Telemetry;
using MailApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace MailApi.Tests.Telemetry;

/// <summary>
/// <c>/metrics</c> of the running service after real dialogues with an in-process relay: each family under its
/// name in docs/observability.md, with the right labels and counts, and no address anywhere in it.
/// </summary>
/// <remarks>
/// Every host's meter is named "MailApi", and a meter provider hears every meter of that name in the process: with
/// other hosts delivering at the same time, counts without a relay label would include theirs. These tests run alone.
/// </remarks>
[Collection(nameof(TelemetryCollection))]
public sealed class MetricsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    /// <summary>
    /// The queue-depth gauges' own count runs at start and then an hour apart: <see cref="ScrapeUntilAsync"/> counts before
    /// each scrape, so no test waits for a periodic count to have run.
    /// </summary>
    private const string QueueDepthInterval = "01:00:00";

    private static MailApiFactory Service(int relayPort) =>
        new(relayPort, new Dictionary<string, string?> { ["Metrics:QueueDepthInterval"] = QueueDepthInterval });

    /// <summary>
    /// Counts the queue depth as the gauges' periodic count does, then scrapes, until <paramref name="reached"/> holds (the job
    /// counts an attempt just after it stores it). Each round counts afresh: the state is awaited, not the next count.
    /// </summary>
    private static async Task<Scrape> ScrapeUntilAsync(MailApiFactory factory, Func<Scrape, bool> reached, string what)
    {
        var depth = factory.Services.GetRequiredService<QueueDepth>();
        var anonymous = factory.CreateClient();
        Scrape? last = null;
        await Poll.UntilAsync(async () =>
        {
            await depth.RefreshAsync(CancellationToken.None);
            return reached(last = await Scrape.TakeAsync(anonymous));
        }, Patience, () => $"{what}; last scrape:\n{last?.Text}");
        return last!;
    }

    [Fact]
    public async Task A_relay_that_failed_over_is_counted_failed_over_and_shown_paused()
    {
        await using var backup = await TestSmtpServer.StartAsync();
        var closed = FreePort.Get();
        using var factory = new MailApiFactory(backup.Port, new Dictionary<string, string?>(Delivery.Relays.RelayList.Settings(
            Delivery.Relays.RelayList.Relay("gauge-primary", closed, ("Priority", "0"), ("FailuresBeforePause", "1"), ("Pause", "01:00:00")),
            Delivery.Relays.RelayList.Relay("gauge-backup", backup.Port, ("Priority", "1")))));
        var client = factory.ClientFor(MailApiFactory.AlphaKey);
        var anonymous = factory.CreateClient();
        var before = await Scrape.TakeAsync(anonymous);
        Assert.Equal(0, before.Value("mailapi_relay_paused", ("relay", "gauge-primary")));
        Assert.Contains(before.Samples, s => s.Name == "mailapi_relay_paused" && s.Labels.GetValueOrDefault("relay") == "gauge-backup");

        var id = await MailApiFactory.SendAsync(client, Bodies.Valid());
        await MailApiFactory.WaitForStatusAsync(client, id, Patience, "sent");
        var scrape = await ScrapeUntilAsync(factory, s => s.Value("mailapi_delivery_attempts_total", ("relay", "gauge-backup")) >= 1,
            "the backup's attempt to be counted");

        Assert.Equal(1, scrape.Value("mailapi_relay_paused", ("relay", "gauge-primary")));
        Assert.Equal(0, scrape.Value("mailapi_relay_paused", ("relay", "gauge-backup")));
        Assert.Equal(1, scrape.Value("mailapi_delivery_attempts_total", ("relay", "gauge-primary"), ("outcome", "failed_over")));
        Assert.Equal(1, scrape.Value("mailapi_delivery_attempts_total", ("relay", "gauge-backup"), ("outcome", "sent")));
    }

    [Fact]
    public async Task A_sent_message_is_counted_by_status_relay_command_and_reply_class()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        using var factory = Service(relay.Port);
        var client = factory.ClientFor(MailApiFactory.AlphaKey);
        var relayLabel = ("relay", $"127.0.0.1:{relay.Port}");

        var id = await MailApiFactory.SendAsync(client, Bodies.Valid("student@domain.local"));
        await MailApiFactory.WaitForStatusAsync(client, id, Patience, "sent");
        var scrape = await ScrapeUntilAsync(factory, s => s.Value("mailapi_messages_finished_total") >= 1, "the finished message to be counted");

        Assert.Equal(1, scrape.Value("mailapi_messages_accepted_total"));
        Assert.Equal(1, scrape.Value("mailapi_messages_finished_total", ("status", "sent")));
        Assert.Equal(1, scrape.Value("mailapi_messages_finished_total"));
        Assert.Equal(1, scrape.Value("mailapi_delivery_attempts_total", relayLabel, ("outcome", "sent")));
        Assert.Equal(1, scrape.Value("mailapi_delivery_attempts_total"));
        // One connection, opened for this message: greeting, EHLO, MAIL, RCPT, DATA (354), end of data; no QUIT yet (the pool
        // keeps it). The other series of those commands stay at the zero they started at.
        var replies = scrape.Samples.Where(s => s.Name == "mailapi_smtp_replies_total" && s.Value > 0)
            .Select(s => (s.Labels["relay"], s.Labels["command"], s.Labels["class"], s.Value))
            .OrderBy(r => r.Item2)
            .ToList();
        var expected = new[] { ("GREETING", "2xx"), ("EHLO", "2xx"), ("MAIL", "2xx"), ("RCPT", "2xx"), ("DATA", "3xx"), ("DATA_END", "2xx") }
            .Select(r => (relayLabel.Item2, r.Item1, r.Item2, 1.0))
            .OrderBy(r => r.Item2)
            .ToList();
        Assert.Equal(expected, replies);
        Assert.Equal(1, scrape.Value("mailapi_delivery_duration_seconds_count", relayLabel));
        Assert.True(scrape.Value("mailapi_delivery_duration_seconds_sum", relayLabel) > 0);
        Assert.Equal(1, scrape.Value("mailapi_delivery_duration_seconds_bucket", relayLabel, ("le", "+Inf")));
        Assert.Equal(1, scrape.Value("mailapi_accept_to_final_seconds_count"));
        Assert.Equal("histogram", scrape.TypeOf("mailapi_delivery_duration_seconds"));
        Assert.Equal("counter", scrape.TypeOf("mailapi_smtp_replies_total"));

        // ASP.NET Core's and MailKit's own meters, beside ours.
        Assert.Equal(1, scrape.Value("http_server_request_duration_seconds_count",
            ("http_request_method", "POST"), ("http_route", "/v1/messages/"), ("http_response_status_code", "202")));
        Assert.Equal(1, scrape.Value("mailkit_net_smtp_client_operation_count_total",
            ("network_operation", "send"), ("server_port", relay.Port.ToString())));

        // The queue-depth gauge drains to zero in every unfinished status.
        scrape = await ScrapeUntilAsync(factory, s => s.Samples.Count(x => x.Name == "mailapi_messages_pending") == 4 && s.Value("mailapi_messages_pending") == 0,
            "the pending gauge to show its 4 statuses, all drained");
        Assert.Equal(["deferred", "queued", "scheduled", "sending"],
            scrape.Samples.Where(s => s.Name == "mailapi_messages_pending").Select(s => s.Labels["status"]).Order());
        Assert.Equal("gauge", scrape.TypeOf("mailapi_messages_pending"));
        Assert.Equal(0, scrape.Value("mailapi_webhook_pending"));

        Assert.DoesNotContain("@domain.local", scrape.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("zotrim", scrape.Text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_message_refused_with_5yz_is_counted_failed_with_the_refusing_reply()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        relay.RejectRecipient("gone@domain.local");
        using var factory = Service(relay.Port);
        var client = factory.ClientFor(MailApiFactory.AlphaKey);
        var relayLabel = ("relay", $"127.0.0.1:{relay.Port}");

        var id = await MailApiFactory.SendAsync(client, Bodies.Valid("gone@domain.local"));
        await MailApiFactory.WaitForStatusAsync(client, id, Patience, "failed");
        var scrape = await ScrapeUntilAsync(factory, s => s.Value("mailapi_messages_finished_total") >= 1, "the failed message to be counted");

        Assert.Equal(1, scrape.Value("mailapi_messages_finished_total", ("status", "failed")));
        Assert.Equal(0, scrape.Value("mailapi_messages_finished_total", ("status", "sent")));
        Assert.Equal(1, scrape.Value("mailapi_delivery_attempts_total", relayLabel, ("outcome", "failed")));
        Assert.Equal(1, scrape.Value("mailapi_smtp_replies_total", relayLabel, ("command", "RCPT"), ("class", "5xx")));
        Assert.Equal(0, scrape.Value("mailapi_smtp_replies_total", relayLabel, ("command", "DATA")));
        Assert.DoesNotContain("gone@", scrape.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_answer_without_a_key_and_the_backlog_gauge_counts_a_scheduled_message()
    {
        using var factory = Service(FreePort.Get());
        var body = Bodies.Valid();
        body["sendAt"] = DateTimeOffset.UtcNow.AddHours(1).ToString("O");

        await MailApiFactory.SendAsync(factory.ClientFor(MailApiFactory.AlphaKey), body);
        // ScrapeUntilAsync scrapes without any key, as a Prometheus server does.
        var scrape = await ScrapeUntilAsync(factory, s => s.Value("mailapi_messages_pending", ("status", "scheduled")) == 1,
            "the scheduled message in the pending gauge");

        Assert.Equal(0, scrape.Value("mailapi_messages_pending", ("status", "queued")));
        Assert.Equal(1, scrape.Value("mailapi_messages_accepted_total"));
        Assert.Equal(0, scrape.Value("mailapi_messages_finished_total"));
    }

    [Fact]
    public async Task Webhook_tries_are_counted_by_outcome_and_the_webhook_gauge_drains()
    {
        using var receiver = new WebhookReceiver();
        receiver.Server.Given(WireMock.RequestBuilders.Request.Create().WithPath("/hook").UsingPost())
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(204));
        await using var relay = await TestSmtpServer.StartAsync();
        using var factory = new MailApiFactory(relay.Port, new Dictionary<string, string?>
        {
            ["Metrics:QueueDepthInterval"] = QueueDepthInterval,
            ["Webhooks:AllowHttp"] = "true",
            ["Webhooks:AllowPrivateTargets"] = "true",
        });
        var client = factory.ClientFor(MailApiFactory.AlphaKey);
        var hook = await client.PostAsJsonAsync("/v1/webhooks", new JsonObject { ["url"] = receiver.Url(), ["events"] = new JsonArray("message.sent") });
        Assert.Equal(HttpStatusCode.Created, hook.StatusCode);

        var id = await MailApiFactory.SendAsync(client, Bodies.Valid());
        await MailApiFactory.WaitForStatusAsync(client, id, Patience, "sent");
        await receiver.WaitForAsync(1);
        var scrape = await ScrapeUntilAsync(factory, s => s.Value("mailapi_webhook_deliveries_total") >= 1
            && s.Samples.Any(x => x.Name == "mailapi_webhook_pending") && s.Value("mailapi_webhook_pending") == 0, "the webhook try to be counted");

        Assert.Equal(1, scrape.Value("mailapi_webhook_deliveries_total", ("outcome", "delivered")));
        Assert.Equal(1, scrape.Value("mailapi_webhook_deliveries_total"));
        Assert.Equal("counter", scrape.TypeOf("mailapi_webhook_deliveries_total"));
        Assert.Equal("gauge", scrape.TypeOf("mailapi_webhook_pending"));
    }

    [Fact]
    public async Task Canceling_counts_the_message_as_finished_canceled()
    {
        using var factory = Service(FreePort.Get());
        var client = factory.ClientFor(MailApiFactory.AlphaKey);
        var body = Bodies.Valid();
        body["sendAt"] = DateTimeOffset.UtcNow.AddHours(1).ToString("O");
        var id = await MailApiFactory.SendAsync(client, body);

        var canceled = await client.PostAsync($"/v1/messages/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, canceled.StatusCode);

        var scrape = await Scrape.TakeAsync(factory.CreateClient());
        Assert.Equal(1, scrape.Value("mailapi_messages_finished_total", ("status", "canceled")));
        Assert.Equal(0, scrape.Value("mailapi_accept_to_final_seconds_count"));
    }
}

/// <summary>The telemetry tests, run one at a time after the parallel ones (see <see cref="MetricsTests"/>).</summary>
[CollectionDefinition(nameof(TelemetryCollection), DisableParallelization = true)]
public sealed class TelemetryCollection;
