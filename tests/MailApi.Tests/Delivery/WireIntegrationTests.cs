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
}
