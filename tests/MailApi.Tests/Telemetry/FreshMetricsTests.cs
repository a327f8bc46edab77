using MailApi.Tests.Delivery.Relays;
using MailApi.Tests.Infrastructure;

namespace MailApi.Tests.Telemetry;

/// <summary>
/// <c>/metrics</c> of a service that has done nothing yet: every family docs/observability.md lists is there, each counter with a zero series
/// for every label set known at start, so a query or an alert sees 0 rather than nothing before the first event.
/// </summary>
/// <remarks>The two histograms are the exception (docs/observability.md says why): they show from their first observation.</remarks>
[Collection(nameof(TelemetryCollection))]
public sealed class FreshMetricsTests
{
    private static readonly string[] Relays = ["fresh-primary", "fresh-backup"];

    [Fact]
    public async Task A_fresh_service_shows_every_family_with_its_zero_series_before_any_message()
    {
        using var factory = new MailApiFactory(FreePort.Get(), RelayList.Settings(
            RelayList.Relay(Relays[0], FreePort.Get(), ("Priority", "0")), RelayList.Relay(Relays[1], FreePort.Get(), ("Priority", "1"))));
        var anonymous = factory.CreateClient();

        // The counters are there from the first scrape.
        var scrape = await Scrape.TakeAsync(anonymous);
        Expect(scrape, "mailapi_messages_accepted_total", "counter");
        Expect(scrape, "mailapi_recipients_suppressed_total", "counter");
        Expect(scrape, "mailapi_messages_finished_total", "counter", ("status", ["sent", "partially_sent", "failed", "canceled"]));
        Expect(scrape, "mailapi_webhook_deliveries_total", "counter", ("outcome", ["delivered", "retry", "failed"]));
        Expect(scrape, "mailapi_bounce_reports_total", "counter", ("via", ["imap", "http", "dev"]), ("result", ["matched", "unmatched", "duplicate"]));
        Expect(scrape, "mailapi_bounces_total", "counter", ("class", ["hard", "soft", "policy", "unknown"]));
        Expect(scrape, "mailapi_delivery_attempts_total", "counter",
            ("relay", Relays), ("outcome", ["sent", "partially_sent", "deferred", "failed", "failed_over"]));
        string[] refused = ["4xx", "5xx"];
        foreach (var (command, accepted) in new[] { ("GREETING", "2xx"), ("EHLO", "2xx"), ("MAIL", "2xx"), ("RCPT", "2xx"), ("DATA", "3xx"), ("DATA_END", "2xx") })
        {
            Expect(scrape, "mailapi_smtp_replies_total", "counter", ("relay", Relays), ("command", [command]), ("class", [accepted, .. refused]));
        }
        Expect(scrape, "mailapi_relay_paused", "gauge", ("relay", Relays));

        // The store's gauges from the count the service makes as it starts, in the background.
        await Poll.UntilAsync(async () => (scrape = await Scrape.TakeAsync(anonymous)).TypeOf("mailapi_messages_pending") is not null
                && scrape.TypeOf("mailapi_suppressions") is not null, TimeSpan.FromSeconds(20),
            () => $"the start-up counts of the queue and the suppression lists; last scrape:\n{scrape.Text}");
        Expect(scrape, "mailapi_messages_pending", "gauge", ("status", ["scheduled", "queued", "sending", "deferred"]));
        Expect(scrape, "mailapi_webhook_pending", "gauge");
        Expect(scrape, "mailapi_suppressions", "gauge", ("reason", ["hard_bounce", "rejected", "complaint", "manual", "soft_bounce"]));
    }

    /// <summary>
    /// <paramref name="family"/> is of <paramref name="type"/> and has one series at 0 for every combination of the label
    /// values given (one series, without labels of ours, when none are).
    /// </summary>
    private static void Expect(Scrape scrape, string family, string type, params (string Key, string[] Values)[] labels)
    {
        Assert.True(type == scrape.TypeOf(family), $"{family} should be a {type}; the scrape:\n{scrape.Text}");
        IEnumerable<(string Key, string Value)[]> sets = [[]];
        foreach (var (key, values) in labels)
        {
            sets = sets.SelectMany(set => values.Select(v => set.Append((key, v)).ToArray()));
        }
        foreach (var set in sets)
        {
            var series = scrape.Samples.Where(s => s.Name == family && set.All(l => s.Labels.GetValueOrDefault(l.Key) == l.Value)).ToList();
            var name = $"{family}{{{string.Join(",", set.Select(l => $"{l.Key}=\"{l.Value}\""))}}}";
            Assert.True(series.Count == 1, $"{name} should be one series, not {series.Count}; the scrape:\n{scrape.Text}");
            Assert.Equal(0, series[0].Value);
        }
    }
}
