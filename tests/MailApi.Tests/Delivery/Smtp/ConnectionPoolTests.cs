using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;

namespace MailApi.Tests.Delivery.Smtp;

/// <summary>
/// Connection reuse (Smtp:Pool) end to end: POST → job → a pooled MailKit client → a real SMTP server on 127.0.0.1.
/// Nothing here asserts a duration; waits are bounded and poll for the state they expect.
/// </summary>
public sealed class ConnectionPoolTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private static MailApiFactory Factory(int port, params (string Key, string Value)[] settings)
    {
        var values = new Dictionary<string, string?> { ["Delivery:Workers"] = "1", ["Smtp:Security"] = "None" };
        foreach (var (key, value) in settings)
        {
            values[key] = value;
        }
        return new MailApiFactory(port, values);
    }

    /// <summary>Sends one message and waits for its final status.</summary>
    private static async Task<JsonObject> SendAsync(HttpClient client, JsonObject? body = null) =>
        await MailApiFactory.WaitForStatusAsync(client, await MailApiFactory.SendAsync(client, body ?? Bodies.Valid()), Patience, "sent", "failed", "partially_sent");

    private static JsonObject Attempt(JsonObject message, int index = 0) => message["attempts"]![index]!.AsObject();

    private static List<string?> Commands(JsonObject attempt) =>
        attempt["transcript"]!.AsArray().Select(e => ((string?)e!["command"])?.Split(' ')[0]).ToList();

    [Fact]
    public async Task Messages_share_one_connection_and_the_first_attempt_holds_its_greeting_ehlo_and_auth()
    {
        await using var relay = await TestSmtpServer.StartAsync(new TestSmtpServerOptions { User = "mailer", Password = "pw", RequireAuth = true });
        using var factory = Factory(relay.Port, ("Smtp:Username", "mailer"), ("Smtp:Password", "pw"));
        var client = factory.ClientFor();

        var messages = new List<JsonObject>();
        for (var i = 0; i < 4; i++)
        {
            messages.Add(await SendAsync(client));
        }

        Assert.All(messages, m => Assert.Equal("sent", (string?)m["status"]));
        Assert.Equal(1, relay.ConnectionCount);
        Assert.Equal(1, relay.AuthAttempts);
        Assert.All(relay.Messages, m => Assert.Equal("mailer", m.AuthenticatedUser));

        var first = Attempt(messages[0]);
        Assert.False((bool)first["reusedConnection"]!);
        Assert.Equal([null, "EHLO", "AUTH", "MAIL", "RCPT", "DATA", "."], Commands(first));
        var connectionId = (string?)first["connectionId"];
        Assert.False(string.IsNullOrEmpty(connectionId));
        foreach (var message in messages.Skip(1))
        {
            var attempt = Attempt(message);
            Assert.True((bool)attempt["reusedConnection"]!);
            Assert.Equal(connectionId, (string?)attempt["connectionId"]);
            // Its own transaction only: MAIL FROM to the final reply, with its own queue id.
            Assert.Equal(["MAIL", "RCPT", "DATA", "."], Commands(attempt));
            Assert.Equal(250, (int)attempt["transcript"]![3]!["reply"]!["code"]!);
        }
        Assert.Equal(relay.Messages.Select(m => m.QueueId), messages.Select(m => (string?)m["queueId"]));
    }

    [Fact]
    public async Task A_connection_says_quit_after_the_maximum_messages_and_the_next_one_opens_a_new_one()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        using var factory = Factory(relay.Port, ("Smtp:Pool:MaxMessagesPerConnection", "2"));
        var client = factory.ClientFor();

        var messages = new List<JsonObject>();
        for (var i = 0; i < 5; i++)
        {
            messages.Add(await SendAsync(client));
        }

        Assert.All(messages, m => Assert.Equal("sent", (string?)m["status"]));
        Assert.Equal(3, relay.ConnectionCount);
        Assert.Equal([1, 1, 2, 2, 3], relay.Messages.Select(m => m.ConnectionNumber));
        Assert.Equal([false, true, false, true, false], messages.Select(m => (bool)Attempt(m)["reusedConnection"]!));
        Assert.Equal(["MAIL", "RCPT", "DATA", ".", "QUIT"], Commands(Attempt(messages[1])));
        Assert.Equal(221, (int)Attempt(messages[1])["transcript"]!.AsArray().Last()!["reply"]!["code"]!);
        Assert.Equal(3, messages.Select(m => (string?)Attempt(m)["connectionId"]).Distinct().Count());
    }

    [Fact]
    public async Task With_reuse_off_every_message_has_its_own_connection_ending_in_quit()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        using var factory = Factory(relay.Port, ("Smtp:Pool:Enabled", "false"));
        var client = factory.ClientFor();

        var messages = new List<JsonObject>();
        for (var i = 0; i < 3; i++)
        {
            messages.Add(await SendAsync(client));
        }

        Assert.Equal(3, relay.ConnectionCount);
        Assert.All(messages, m =>
        {
            Assert.Equal("sent", (string?)m["status"]);
            Assert.False((bool)Attempt(m)["reusedConnection"]!);
            Assert.Equal([null, "EHLO", "MAIL", "RCPT", "DATA", ".", "QUIT"], Commands(Attempt(m)));
        });
    }

    [Fact]
    public async Task An_idle_connection_says_quit_after_the_idle_timeout()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        using var factory = Factory(relay.Port, ("Smtp:Pool:IdleTimeout", "00:00:00.3"));
        var client = factory.ClientFor();

        var first = await SendAsync(client);
        await Poll.UntilAsync(() => relay.Commands.Contains("QUIT"), Patience, "the idle connection's QUIT");
        var second = await SendAsync(client);

        Assert.Equal("sent", (string?)second["status"]);
        Assert.Equal(2, relay.ConnectionCount);
        Assert.False((bool)Attempt(second)["reusedConnection"]!);
        Assert.NotEqual((string?)Attempt(first)["connectionId"], (string?)Attempt(second)["connectionId"]);
        // The idle QUIT belongs to no message: the first transcript still ends with the final reply.
        Assert.Equal([null, "EHLO", "MAIL", "RCPT", "DATA", "."], Commands(Attempt(first)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_connection_the_relay_closed_while_idle_is_replaced_without_a_failed_attempt(bool says421First)
    {
        // Each connection takes one message, then the relay times it out: it hangs up (after a 421 if asked).
        await using var relay = RawSmtpServer.Start(async (c, ct) =>
        {
            await c.SendAsync("220 raw.localhost ESMTP", ct);
            while (await c.ReadLineAsync(ct) is { } line)
            {
                var reply = RawSmtpServer.DefaultAnswer(line);
                await c.SendAsync(reply, ct);
                if (reply.StartsWith("354", StringComparison.Ordinal))
                {
                    await c.ReadMessageAsync(ct);
                    await c.SendAsync(RawSmtpServer.DefaultAnswer("."), ct);
                    if (says421First)
                    {
                        await c.SendAsync("421 4.4.2 raw.localhost Error: timeout exceeded", ct);
                    }
                    return;
                }
            }
        });
        using var factory = Factory(relay.Port);
        var client = factory.ClientFor();

        var first = await SendAsync(client);
        var second = await SendAsync(client);

        Assert.Equal("sent", (string?)second["status"]);
        Assert.Single(second["attempts"]!.AsArray());
        Assert.Null((string?)Attempt(second)["error"]);
        Assert.False((bool)Attempt(second)["reusedConnection"]!);
        // A 421 that came in the same read as the 250 is recorded after it, as an unsolicited reply.
        Assert.Equal([null, "EHLO", "MAIL", "RCPT", "DATA", "."], Commands(Attempt(second)).Take(6));
        Assert.NotEqual((string?)Attempt(first)["connectionId"], (string?)Attempt(second)["connectionId"]);
        Assert.Equal(2, relay.ConnectionCount);
    }

    [Fact]
    public async Task A_421_to_mail_from_on_a_reused_connection_is_replaced_without_a_failed_attempt()
    {
        // The relay looks alive but answers the second transaction of a connection with 421 and hangs up.
        await using var relay = RawSmtpServer.Start(async (c, ct) =>
        {
            var transactions = 0;
            await c.SendAsync("220 raw.localhost ESMTP", ct);
            while (await c.ReadLineAsync(ct) is { } line)
            {
                if (line.StartsWith("MAIL", StringComparison.OrdinalIgnoreCase) && ++transactions == 2)
                {
                    await c.SendAsync("421 4.4.2 raw.localhost Error: timeout exceeded", ct);
                    return;
                }
                var reply = RawSmtpServer.DefaultAnswer(line);
                await c.SendAsync(reply, ct);
                if (reply.StartsWith("354", StringComparison.Ordinal))
                {
                    await c.ReadMessageAsync(ct);
                    await c.SendAsync(RawSmtpServer.DefaultAnswer("."), ct);
                }
            }
        });
        using var factory = Factory(relay.Port);
        var client = factory.ClientFor();

        await SendAsync(client);
        var second = await SendAsync(client);

        Assert.Equal("sent", (string?)second["status"]);
        Assert.Single(second["attempts"]!.AsArray());
        Assert.Null((string?)Attempt(second)["error"]);
        Assert.Equal([null, "EHLO", "MAIL", "RCPT", "DATA", "."], Commands(Attempt(second)));
        Assert.DoesNotContain(Attempt(second)["transcript"]!.AsArray(), e => (int?)e!["reply"]?["code"] == 421);
        Assert.Equal(2, relay.ConnectionCount);
    }

    [Fact]
    public async Task A_421_to_the_end_of_data_discards_the_connection()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        relay.FinalReply(421, "4.3.0 Too busy, closing", times: 1);
        using var factory = Factory(relay.Port);
        var client = factory.ClientFor();

        var message = await SendAsync(client);

        Assert.Equal("sent", (string?)message["status"]);
        Assert.Equal(2, message["attempts"]!.AsArray().Count);
        Assert.Equal(421, (int)Attempt(message, 0)["transcript"]!.AsArray().Single(e => (string?)e!["command"] == ".")!["reply"]!["code"]!);
        Assert.False((bool)Attempt(message, 1)["reusedConnection"]!);
        Assert.NotEqual((string?)Attempt(message, 0)["connectionId"], (string?)Attempt(message, 1)["connectionId"]);
        Assert.Equal(2, relay.ConnectionCount);
    }

    [Fact]
    public async Task After_a_refused_transaction_rset_keeps_the_connection_for_the_next_message()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        relay.RejectRecipient("gone@domain.local");
        using var factory = Factory(relay.Port);
        var client = factory.ClientFor();

        var failed = await SendAsync(client, Bodies.Valid("gone@domain.local"));
        var sent = await SendAsync(client);

        Assert.Equal("failed", (string?)failed["status"]);
        Assert.Equal("RSET", Commands(Attempt(failed)).Last());
        Assert.Equal("sent", (string?)sent["status"]);
        Assert.True((bool)Attempt(sent)["reusedConnection"]!);
        Assert.Equal(["MAIL", "RCPT", "DATA", "."], Commands(Attempt(sent)));
        Assert.Equal(1, relay.ConnectionCount);
    }

    [Fact]
    public async Task A_message_larger_than_the_relays_size_is_not_sent_and_fails_without_retry()
    {
        await using var relay = await TestSmtpServer.StartAsync(new TestSmtpServerOptions { MaxMessageSize = 2000 });
        using var factory = Factory(relay.Port, ("Delivery:RetryDelays:0", "00:10:00"));
        var client = factory.ClientFor();
        var big = Bodies.Valid();
        big["text"] = new string('x', 5000);

        var id = await MailApiFactory.SendAsync(client, big);
        var failed = await MailApiFactory.WaitForStatusAsync(client, id, Patience, "deferred", "sent", "failed");
        var small = await SendAsync(client);

        Assert.Equal("failed", (string?)failed["status"]);
        Assert.Null(failed["nextAttemptAt"]);
        Assert.Contains("SIZE", (string?)Attempt(failed)["error"]);
        Assert.DoesNotContain("MAIL", Commands(Attempt(failed)));
        Assert.Equal("sent", (string?)small["status"]);
        Assert.True((bool)Attempt(small)["reusedConnection"]!);
        Assert.Single(relay.Messages);
        Assert.Equal(1, relay.ConnectionCount);
    }

    [Fact]
    public async Task Parallel_workers_never_open_more_than_the_maximum_connections()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        using var factory = Factory(relay.Port, ("Delivery:Workers", "6"), ("Smtp:Pool:MaxConnections", "2"));
        var client = factory.ClientFor();

        var ids = new List<string>();
        for (var i = 0; i < 30; i++)
        {
            ids.Add(await MailApiFactory.SendAsync(client, Bodies.Valid()));
        }
        foreach (var id in ids)
        {
            var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, "sent", "failed", "deferred");
            Assert.Equal("sent", (string?)message["status"]);
        }

        Assert.Equal(30, relay.Messages.Count);
        Assert.InRange(relay.ConnectionCount, 1, 2);
    }
}
