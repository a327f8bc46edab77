using MailApi.Testing;
using MailApi.Tests.Infrastructure;
using static MailApi.Tests.Delivery.RelayDialogue;
using static MailApi.Tests.Delivery.Relays.RelayList;

namespace MailApi.Tests.Delivery.Relays;

/// <summary>Which relay a message goes to: by its sender, by priority, spread by weight; and the list checked at start.</summary>
public sealed class RoutingTests
{
    private static System.Text.Json.Nodes.JsonObject From(string from)
    {
        var body = Bodies.Valid();
        body["from"] = from;
        return body;
    }

    [Fact]
    public async Task A_message_goes_to_the_relay_whose_senders_take_its_from_and_a_sender_no_relay_takes_is_deferred_saying_so()
    {
        await using var domain = await TestSmtpServer.StartAsync();
        await using var boss = await TestSmtpServer.StartAsync();
        using var factory = new MailApiFactory(domain.Port, new Dictionary<string, string?>(Settings(
            Relay("domain", domain.Port, ("Senders:0", "@domain.local")),
            Relay("boss", boss.Port, ("Senders:0", "boss@other.local"))))
        {
            ["Delivery:RetryDelays:0"] = "01:00:00",
        });

        var (client, fromDomain) = await SendAsync(factory, Bodies.Valid(), MailApiFactory.BetaKey);
        var (_, fromBoss) = await SendAsync(factory, From("Boss <boss@other.local>"), MailApiFactory.BetaKey);
        var (_, fromNobody) = await SendAsync(factory, From("nobody@third.local"), MailApiFactory.BetaKey);

        var first = await MailApiFactory.WaitForStatusAsync(client, fromDomain, Patience, AfterAnAttempt);
        var second = await MailApiFactory.WaitForStatusAsync(client, fromBoss, Patience, AfterAnAttempt);
        var third = await MailApiFactory.WaitForStatusAsync(client, fromNobody, Patience, AfterAnAttempt);

        Assert.Equal([("domain", "sent", false)], Tried(first));
        Assert.Equal([("boss", "sent", false)], Tried(second));
        Assert.Equal("zotrim@domain.local", Assert.Single(domain.Messages).From);
        Assert.Equal("boss@other.local", Assert.Single(boss.Messages).From);
        Assert.Equal("deferred", (string?)third["status"]);
        Assert.Contains("No relay takes the sender nobody@third.local", Error(third));
    }

    [Fact]
    public async Task Relays_of_one_priority_share_messages_by_weight_and_a_lower_priority_relay_gets_none_while_they_work()
    {
        await using var heavy = await TestSmtpServer.StartAsync();
        await using var light = await TestSmtpServer.StartAsync();
        await using var spare = await TestSmtpServer.StartAsync();
        using var factory = new MailApiFactory(heavy.Port, Settings(
            Relay("heavy", heavy.Port, ("Weight", "3")),
            Relay("light", light.Port, ("Weight", "1")),
            Relay("spare", spare.Port, ("Priority", "1"))));

        var client = factory.ClientFor();
        for (var i = 0; i < 8; i++)
        {
            var (_, id) = await SendAsync(factory, Bodies.Valid());
            Assert.Equal("sent", (string?)(await MailApiFactory.WaitForStatusAsync(client, id, Patience, AfterAnAttempt))["status"]);
        }

        // Smooth weighted round robin: 3 to 1, evenly spread, whatever the timing.
        Assert.Equal(6, heavy.Messages.Count);
        Assert.Equal(2, light.Messages.Count);
        Assert.Equal(0, spare.ConnectionCount);
    }

    [Fact]
    public void A_bad_relay_list_stops_the_start_naming_each_bad_key()
    {
        using var factory = new MailApiFactory(25, Settings(
            Relay("a", 2525, ("Senders:0", "@domain.local"), ("Senders:1", "not a pattern")),
            Relay("b", 2526, ("Weight", "-1")),
            Relay("a", 2527)));

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient()).ToString();

        Assert.Contains("Relays:0:Senders:1 'not a pattern' is not a sender pattern", error);
        Assert.Contains("Relays:1:Weight must be 0 or more", error);
        Assert.Contains("Relays:2:Name 'a' is the name of Relays:0 already", error);
    }
}
