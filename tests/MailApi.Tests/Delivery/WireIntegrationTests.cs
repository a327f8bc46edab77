using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;

namespace MailApi.Tests.Delivery;

/// <summary>
/// What reaches the wire for awkward input and what the service makes of the relay's answers (issue 8):
/// international addresses, queue ids, and error texts, each through the running service and a real SMTP server.
/// </summary>
public sealed class WireIntegrationTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private static readonly string[] Final = ["sent", "partially_sent", "failed"];

    private static async Task<(HttpClient Client, string Id)> SendAsync(MailApiFactory factory, JsonObject body)
    {
        var client = factory.ClientFor(MailApiFactory.BetaKey);
        var response = await client.PostAsJsonAsync("/v1/messages", body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var created = await response.Content.ReadFromJsonAsync<JsonObject>();
        return (client, (string)created!["id"]!);
    }

    [Fact]
    public async Task An_OpenSmtpd_queue_id_without_a_digit_is_recognised()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        relay.FinalReply(250, "2.0.0 abcdefab Message accepted for delivery");
        using var factory = new MailApiFactory(relay.Port);

        var (client, id) = await SendAsync(factory, Bodies.Valid());
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, Final);

        Assert.Equal("sent", (string?)message["status"]);
        Assert.Equal("abcdefab", (string?)message["queueId"]);
        Assert.Equal("abcdefab Message accepted for delivery", (string?)message["finalReply"]!["text"]);
    }

    [Fact]
    public async Task An_idn_recipient_through_a_relay_without_smtputf8_gets_one_copy_and_is_sent()
    {
        await using var relay = RawSmtpServer.Dialogue(RawSmtpServer.DefaultAnswer);
        using var factory = new MailApiFactory(relay.Port);

        var (client, id) = await SendAsync(factory, Bodies.Valid("x@bücher.test"));
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, Final);

        Assert.Equal("sent", (string?)message["status"]);
        var recipient = Assert.Single(message["recipients"]!.AsArray())!;
        Assert.Equal(("x@bücher.test", "accepted"), ((string?)recipient["address"], (string?)recipient["status"]));
        Assert.Single(message["attempts"]!.AsArray());
        Assert.Equal(["RCPT TO:<x@xn--bcher-kva.test>"], relay.ReceivedLines.Where(l => l.StartsWith("RCPT", StringComparison.Ordinal)));
        Assert.Single(relay.ReceivedLines, "DATA");
    }

    [Fact]
    public async Task An_a_label_recipient_through_a_relay_with_smtputf8_is_matched_to_its_reply()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        using var factory = new MailApiFactory(relay.Port);

        var (client, id) = await SendAsync(factory, Bodies.Valid("y@xn--bcher-kva.test"));
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, Final);

        Assert.Equal("sent", (string?)message["status"]);
        Assert.Equal("accepted", (string?)message["recipients"]![0]!["status"]);
        Assert.Single(message["attempts"]!.AsArray());
        Assert.Single(relay.Messages);
    }
}
