using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;

namespace MailApi.Tests.Delivery.Smtp;

/// <summary>
/// A relay's limit of recipients per transaction (RFC 5321 §4.5.3.1.10: <c>452 4.5.3</c> to the RCPTs past it): the
/// recipients it took get the message, and the rest go in a second transaction at once, on the same connection.
/// </summary>
public sealed class TooManyRecipientsTests
{
    [Fact]
    public async Task Recipients_past_the_relays_limit_go_in_a_second_transaction_at_once_on_the_same_connection()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        relay.DeferRecipient("third@domain.local", 452, "4.5.3 Error: too many recipients", times: 1);
        // A retry would come an hour later, far past the wait below: only the second transaction at once delivers in time.
        using var factory = new MailApiFactory(relay.Port, new Dictionary<string, string?>
        {
            ["Smtp:Security"] = "None",
            ["Delivery:RetryDelays:0"] = "01:00:00",
        });
        var client = factory.ClientFor();

        var response = await client.PostAsJsonAsync("/v1/messages", Bodies.Valid("first@domain.local", "second@domain.local", "third@domain.local"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
        var message = await MailApiFactory.WaitForStatusAsync(client, id, TimeSpan.FromMinutes(1), "sent");

        var received = await relay.WaitForMessagesAsync(2, TimeSpan.FromMinutes(1));
        Assert.Equal([["first@domain.local", "second@domain.local"], ["third@domain.local"]], received.Select(m => m.Recipients.ToArray()));
        Assert.Equal(1, relay.ConnectionCount);
        var attempts = message["attempts"]!.AsArray();
        Assert.Equal(2, attempts.Count);
        Assert.Equal("sending", (string?)attempts[0]!["outcome"]);
        Assert.Equal("sent", (string?)attempts[1]!["outcome"]);
        Assert.Equal((string?)attempts[0]!["connectionId"], (string?)attempts[1]!["connectionId"]);
        Assert.True((bool)attempts[1]!["reusedConnection"]!);
        Assert.All(message["recipients"]!.AsArray(), r => Assert.Equal("accepted", (string?)r!["status"]));
        Assert.Equal(received[1].QueueId, (string?)message["queueId"]);
        Assert.Null(message["nextAttemptAt"]);
        Assert.Equal(["message.sent"], (await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{id}/events"))!["items"]!.AsArray().Select(e => (string?)e!["type"]));
    }

    [Fact]
    public async Task A_452_that_is_not_the_recipient_limit_is_a_retry_later()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        relay.DeferRecipient("full@domain.local", 452, "4.3.1 Insufficient system storage", times: 1);
        using var factory = new MailApiFactory(relay.Port, new Dictionary<string, string?>
        {
            ["Smtp:Security"] = "None",
            ["Delivery:RetryDelays:0"] = "00:00:00.2",
        });
        var client = factory.ClientFor();

        var response = await client.PostAsJsonAsync("/v1/messages", Bodies.Valid("ok@domain.local", "full@domain.local"));
        var id = (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
        var message = await MailApiFactory.WaitForStatusAsync(client, id, TimeSpan.FromMinutes(1), "sent");

        var attempts = message["attempts"]!.AsArray();
        Assert.Equal(["deferred", "sent"], attempts.Select(a => (string?)a!["outcome"]));
    }
}
