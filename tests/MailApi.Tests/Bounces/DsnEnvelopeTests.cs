using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;

namespace MailApi.Tests.Bounces;

/// <summary>
/// What the dialogue asks of the relay when bounces are on (RFC 3461 parameters, to a relay that offers DSN only, and the
/// token return path), and that it asks nothing with bounces off; and the capture relay's test addresses, whose reports
/// come back through the intake in Development.
/// </summary>
public sealed class DsnEnvelopeTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static Dictionary<string, string?> BouncesOn => new()
    {
        ["Smtp:Security"] = "None",
        ["Bounces:Enabled"] = "true",
        ["Bounces:ReturnPath"] = "bounces@mailapi.test",
        ["Bounces:TokenDelimiter"] = "=",
        ["Bounces:TokenSecret"] = "a-secret-of-at-least-thirty-two-bytes!",
    };

    private static RawSmtpServer Relay(bool offersDsn) => RawSmtpServer.Dialogue(line => line.StartsWith("EHLO", StringComparison.OrdinalIgnoreCase)
        ? "250-raw.localhost\r\n250-8BITMIME\r\n" + (offersDsn ? "250-DSN\r\n" : "") + "250 ENHANCEDSTATUSCODES"
        : RawSmtpServer.DefaultAnswer(line));

    private static async Task<(JsonObject Message, string[] Lines)> SendAsync(RawSmtpServer relay, Dictionary<string, string?> settings)
    {
        using var factory = new MailApiFactory(relay.Port, settings);
        var client = factory.ClientFor();
        var response = await client.PostAsJsonAsync("/v1/messages", Bodies.Valid("student@domain.local"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, "sent");
        return (message, [.. relay.ReceivedLines.Where(l => l.StartsWith("MAIL", StringComparison.Ordinal) || l.StartsWith("RCPT", StringComparison.Ordinal))]);
    }

    private static string[] Commands(JsonObject message) =>
        [.. message["attempts"]![0]!["transcript"]!.AsArray().Select(e => (string?)e!["command"] ?? "").Where(c => c.StartsWith("MAIL", StringComparison.Ordinal) || c.StartsWith("RCPT", StringComparison.Ordinal))];

    [Fact]
    public async Task With_bounces_on_a_relay_offering_dsn_is_asked_for_reports_to_the_token_return_path()
    {
        await using var relay = Relay(offersDsn: true);
        var (message, lines) = await SendAsync(relay, BouncesOn);

        var id = (string)message["id"]!;
        Assert.Matches($"^MAIL FROM:<bounces=[a-z2-7]{{42}}@mailapi.test> ENVID={id} RET=HDRS$", lines[0]);
        Assert.Equal("RCPT TO:<student@domain.local> NOTIFY=FAILURE,DELAY ORCPT=rfc822;student@domain.local", lines[1]);
        // The transcript shows the commands as sent.
        Assert.Equal(lines, Commands(message));
    }

    [Fact]
    public async Task Toward_a_relay_without_dsn_only_the_return_path_changes_and_with_bounces_off_nothing_does()
    {
        await using (var withoutDsn = Relay(offersDsn: false))
        {
            var (_, lines) = await SendAsync(withoutDsn, BouncesOn);
            Assert.Matches("^MAIL FROM:<bounces=[a-z2-7]{42}@mailapi.test>", lines[0]);
            Assert.All(lines, l => Assert.DoesNotContain("ENVID", l));
            Assert.Equal("RCPT TO:<student@domain.local>", lines[1]);
        }
        await using var offering = Relay(offersDsn: true);
        var (_, off) = await SendAsync(offering, new Dictionary<string, string?> { ["Smtp:Security"] = "None" });
        Assert.StartsWith("MAIL FROM:<zotrim@domain.local>", off[0]);
        Assert.All(off, l => Assert.DoesNotMatch("RET=|ENVID=|NOTIFY=|ORCPT=", l));
    }

    [Fact]
    public async Task In_development_the_capture_relays_test_addresses_bounce_delay_and_complain_through_the_intake()
    {
        var folder = Directory.CreateTempSubdirectory("mailapi-devbounce-").FullName;
        using var factory = new MailApiFactory(FreePort.Get(), new Dictionary<string, string?>
        {
            ["DevRelay:Port"] = FreePort.Get().ToString(),
            ["DevRelay:Folder"] = folder,
        }, "Development");
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "mailapi-dev-key");
        var response = await client.PostAsJsonAsync("/v1/messages",
            Bodies.Valid("bounce@example.test", "delay@example.test", "complaint@example.test", "ok@example.test"));
        var id = (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;

        JsonArray events = [];
        await Poll.UntilAsync(async () =>
        {
            events = (await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{id}/events"))!["items"]!.AsArray();
            return events.Count >= 4;
        }, Patience, () => $"the sent event and three reports' events; seen {events.ToJsonString()}");

        Assert.Equal(["message.bounced", "message.complained", "message.delayed", "message.sent"], events.Select(e => (string)e!["type"]!).Order());
        var message = (await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{id}"))!;
        Assert.Equal("partially_sent", (string?)message["status"]);
        var recipients = message["recipients"]!.AsArray().ToDictionary(r => (string)r!["address"]!, r => r!);
        Assert.Equal(("bounced", "5.1.1", "hard"), ((string?)recipients["bounce@example.test"]["status"],
            (string?)recipients["bounce@example.test"]["bounce"]!["status"], (string?)recipients["bounce@example.test"]["bounce"]!["class"]));
        Assert.Equal(("accepted", "delayed"), ((string?)recipients["delay@example.test"]["status"], (string?)recipients["delay@example.test"]["bounce"]!["action"]));
        Assert.Equal(("accepted", "complaint"), ((string?)recipients["complaint@example.test"]["status"], (string?)recipients["complaint@example.test"]["bounce"]!["action"]));
        Assert.Null(recipients["ok@example.test"]["bounce"]);
        var suppressed = (await client.GetFromJsonAsync<JsonObject>("/v1/suppressions"))!["items"]!.AsArray()
            .ToDictionary(e => (string)e!["address"]!, e => (string)e!["reason"]!);
        Assert.Equal(new Dictionary<string, string> { ["bounce@example.test"] = "hard_bounce", ["complaint@example.test"] = "complaint" }, suppressed);
        var reports = (await client.GetFromJsonAsync<JsonObject>("/v1/bounces"))!["items"]!.AsArray();
        Assert.Equal(3, reports.Count);
        Assert.All(reports, r => Assert.Equal(("dev", id), ((string?)r!["via"], (string?)r["messageId"])));
    }
}
