using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using MailApi.Hosting;
using MailApi.OpenApi;
using MailApi.Suppressions;
using MailApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace MailApi.Tests.Telemetry;

/// <summary><c>/metrics</c> for the suppression list and bounce reports: the families docs/observability.md lists, with their labels and counts.</summary>
[Collection(nameof(TelemetryCollection))]
public sealed class ListMetricsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Suppressed_recipients_the_list_by_reason_and_bounce_reports_by_result_and_class_are_counted()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        using var factory = new MailApiFactory(relay.Port, new Dictionary<string, string?>
        {
            ["Metrics:QueueDepthInterval"] = "01:00:00",
            ["Auth:ApiKeys:0:Bounces"] = "true",
        });
        var client = factory.ClientFor();
        var anonymous = factory.CreateClient();
        Assert.Equal(HttpStatusCode.Created, (await client.PutAsJsonAsync("/v1/suppressions/kept@domain.local", new JsonObject())).StatusCode);
        var suppressed = await client.PostAsJsonAsync("/v1/messages", Bodies.Valid("kept@domain.local"));
        Assert.Equal("failed", (string?)(await suppressed.Content.ReadFromJsonAsync<JsonObject>())!["status"]);

        var sent = await client.PostAsJsonAsync("/v1/messages", Bodies.Valid("gone@domain.local"));
        var id = (string)(await sent.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
        await MailApiFactory.WaitForStatusAsync(client, id, Patience, "sent");
        var dsn = OpenApiBounceExamples.Dsn.Replace("0193f1e2-7c1a-7b3e-9a55-6c1f1e0d2a11", id, StringComparison.Ordinal).ReplaceLineEndings("\r\n");
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync("/v1/bounces", new StringContent(dsn, Encoding.UTF8, "message/rfc822"))).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync("/v1/bounces", new StringContent(dsn, Encoding.UTF8, "message/rfc822"))).StatusCode);

        // The list's gauge is counted here, as its periodic count would (an hour apart in this test).
        await factory.Services.GetRequiredService<SuppressionGauge>().RefreshAsync(CancellationToken.None);
        var scrape = await Scrape.TakeAsync(anonymous);

        Assert.Equal(1, scrape.Value("mailapi_recipients_suppressed_total"));
        Assert.Equal(1, scrape.Value("mailapi_suppressions", ("reason", "manual")));
        Assert.Equal(1, scrape.Value("mailapi_suppressions", ("reason", "hard_bounce")));
        Assert.Equal(0, scrape.Value("mailapi_suppressions", ("reason", "rejected")));
        Assert.Equal(1, scrape.Value("mailapi_bounce_reports_total", ("via", "http"), ("result", "matched")));
        Assert.Equal(1, scrape.Value("mailapi_bounce_reports_total", ("via", "http"), ("result", "duplicate")));
        Assert.Equal(1, scrape.Value("mailapi_bounces_total", ("class", "hard")));
        Assert.Equal("gauge", scrape.TypeOf("mailapi_suppressions"));
    }
}
