using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Testing;
using MailApi.Tests.Infrastructure;
using static MailApi.Tests.Delivery.RelayDialogue;
using static MailApi.Tests.Delivery.Relays.RelayList;

namespace MailApi.Tests.Delivery.Relays;

/// <summary>
/// A relay paused after failures in a row, skipped and resumed; a relay's rate of messages holding them back; a relay's
/// connection limit holding however many workers there are.
/// </summary>
public sealed class PauseAndRateTests
{
    /// <summary>Greets its first connection with 421 and hangs up; every later one gets a Postfix-like dialogue.</summary>
    private static RawSmtpServer FailsFirstConnection()
    {
        var connections = 0;
        return RawSmtpServer.Start(async (c, ct) =>
        {
            if (Interlocked.Increment(ref connections) == 1)
            {
                await c.SendAsync("421 4.3.2 Service not available, closing channel", ct);
                return;
            }
            await RawSmtpServer.DialogueAsync(c, RawSmtpServer.DefaultAnswer, "220 raw.localhost ESMTP", splitReplies: false, ct);
        });
    }

    [Fact]
    public async Task A_relay_that_failed_is_paused_skipped_while_paused_shown_in_health_and_used_again_after_the_pause()
    {
        await using var primary = FailsFirstConnection();
        await using var backup = await TestSmtpServer.StartAsync();
        using var factory = new MailApiFactory(primary.Port, Settings(
            Relay("primary", primary.Port, ("Priority", "0"), ("FailuresBeforePause", "1"), ("Pause", "00:00:10")),
            Relay("backup", backup.Port, ("Priority", "1"))));
        var client = factory.ClientFor();

        var ready = await ReadyAsync(factory);
        Assert.Equal("healthy", (string?)ready["status"]);
        Assert.Equal("up", StateOf(ready, "primary"));

        // The 421 greeting pauses primary (one failure is enough here); backup takes the message at once.
        var (_, first) = await SendAsync(factory, Bodies.Valid());
        var firstMessage = await MailApiFactory.WaitForStatusAsync(client, first, Patience, AfterAnAttempt);
        Assert.Equal([("primary", "deferred", true), ("backup", "sent", false)], Tried(firstMessage));
        ready = await ReadyAsync(factory);
        Assert.Equal("degraded", (string?)ready["status"]);
        Assert.StartsWith("paused until ", StateOf(ready, "primary"));
        Assert.Equal("up", StateOf(ready, "backup"));

        // While paused, primary is not even connected to.
        var (_, second) = await SendAsync(factory, Bodies.Valid());
        var secondMessage = await MailApiFactory.WaitForStatusAsync(client, second, Patience, AfterAnAttempt);
        Assert.StartsWith("paused until ", StateOf(await ReadyAsync(factory), "primary"));
        Assert.Equal([("backup", "sent", false)], Tried(secondMessage));
        Assert.Equal(1, primary.ConnectionCount);

        // The pause ends by itself; primary takes the next message again.
        await Poll.UntilAsync(async () => StateOf(await ReadyAsync(factory), "primary") == "up", Patience, () => "primary to be up again");
        var (_, third) = await SendAsync(factory, Bodies.Valid());
        var thirdMessage = await MailApiFactory.WaitForStatusAsync(client, third, Patience, AfterAnAttempt);
        Assert.Equal([("primary", "sent", false)], Tried(thirdMessage));
        Assert.Equal("healthy", (string?)(await ReadyAsync(factory))["status"]);
        Assert.Equal(2, backup.Messages.Count);
    }

    [Fact]
    public async Task A_relay_limited_to_5_messages_a_second_receives_20_over_at_least_3_seconds_and_every_one_is_sent_in_one_attempt()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        using var factory = new MailApiFactory(relay.Port, new Dictionary<string, string?>(Settings(
            Relay("limited", relay.Port, ("MaxMessagesPerSecond", "5"))))
        {
            ["Delivery:Workers"] = "10",
        });
        var client = factory.ClientFor();
        var batch = new JsonObject { ["messages"] = new JsonArray([.. Enumerable.Range(0, 20).Select(_ => (JsonNode)Bodies.Valid())]) };

        var response = await client.PostAsJsonAsync("/v1/messages/batch", batch);
        response.EnsureSuccessStatusCode();
        var ids = (await response.Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray().Select(m => (string)m!["id"]!).ToList();
        var messages = new List<JsonObject>();
        foreach (var id in ids)
        {
            messages.Add(await MailApiFactory.WaitForStatusAsync(client, id, TimeSpan.FromSeconds(60), AfterAnAttempt));
        }

        Assert.All(messages, m => Assert.Equal([("limited", "sent", false)], Tried(m)));
        var arrivals = relay.Messages.Select(m => m.ReceivedAt).Order().ToList();
        Assert.Equal(20, arrivals.Count);
        // The token bucket lets one message through every 200 ms: 19 gaps of 200 ms between the first and the last.
        Assert.True(arrivals[^1] - arrivals[0] >= TimeSpan.FromSeconds(3), $"20 messages arrived within {arrivals[^1] - arrivals[0]}");
    }

    [Fact]
    public async Task A_relay_limited_to_2_connections_gets_2_however_many_workers_wait()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        relay.HoldFinalReplies();
        using var factory = new MailApiFactory(relay.Port, new Dictionary<string, string?>(Settings(
            Relay("narrow", relay.Port, ("MaxConnections", "2"))))
        {
            ["Delivery:Workers"] = "10",
        });
        var client = factory.ClientFor();

        // Ten messages, one job each (a batch would be one job for ten), so ten workers want a connection at once.
        var ids = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            ids.Add((await SendAsync(factory, Bodies.Valid())).Id);
        }
        // Two dialogues wait for their final reply, each holding one of the relay's two connections.
        await relay.WaitForHeldRepliesAsync(2, Patience);
        relay.ReleaseFinalReplies();
        foreach (var id in ids)
        {
            Assert.Equal("sent", (string?)(await MailApiFactory.WaitForStatusAsync(client, id, Patience, AfterAnAttempt))["status"]);
        }

        // Ten messages over the two connections, reused: never a third.
        Assert.Equal(2, relay.ConnectionCount);
        Assert.Equal(10, relay.Messages.Count);
    }
}
