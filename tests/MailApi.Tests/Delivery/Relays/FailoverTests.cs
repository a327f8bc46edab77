using MailApi.Testing;
using MailApi.Tests.Infrastructure;
using static MailApi.Tests.Delivery.RelayDialogue;
using static MailApi.Tests.Delivery.Relays.RelayList;

namespace MailApi.Tests.Delivery.Relays;

/// <summary>
/// Failover within the attempt, against real servers on 127.0.0.1: a relay that cannot take anything (closed port,
/// 421 greeting, broken TLS, refused AUTH) is recorded as an attempt of its own and the next relay is tried at once;
/// a relay that answered the message itself (a reply to the end of data, or none after it) ends the attempt.
/// </summary>
public sealed class FailoverTests
{
    [Fact]
    public async Task A_closed_port_a_421_greeting_a_tls_failure_and_an_auth_refusal_are_each_an_attempt_and_the_next_relay_sends_at_once()
    {
        var closed = FreePort.Get();
        await using var greeting421 = RawSmtpServer.GreetAndClose("421 4.3.2 Service not available, closing channel");
        await using var tls = RawSmtpServer.BrokenTls();
        await using var auth = await TestSmtpServer.StartAsync(new TestSmtpServerOptions { User = "mailer", Password = "right", RequireAuth = true });
        await using var good = await TestSmtpServer.StartAsync();
        using var factory = new MailApiFactory(good.Port, Settings(
            Relay("closed", closed, ("Priority", "0")),
            Relay("greeting421", greeting421.Port, ("Priority", "1")),
            Relay("tls", tls.Port, ("Priority", "2"), ("Security", "StartTls")),
            Relay("auth", auth.Port, ("Priority", "3"), ("Username", "mailer"), ("Password", "wrong")),
            Relay("good", good.Port, ("Priority", "4"))));

        var (client, id) = await SendAsync(factory, Bodies.Valid());
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, AfterAnAttempt);

        Assert.Equal("sent", (string?)message["status"]);
        Assert.Equal([("closed", "deferred", true), ("greeting421", "deferred", true), ("tls", "deferred", true), ("auth", "deferred", true), ("good", "sent", false)],
            Tried(message));
        Assert.Equal([1, 2, 3, 4, 5], Attempts(message).Select(a => (int)a!["number"]!));
        Assert.Equal("good", (string?)message["upstream"]);

        Assert.Empty(Transcript(message, 0));
        Assert.Contains($"Could not connect to closed (127.0.0.1:{closed}): ConnectionRefused", Error(message, 0));
        Assert.Equal([(null, 421, "4.3.2")], Steps(Transcript(message, 1)));
        Assert.Equal([(null, 220, null), ("EHLO mailapi.test", 250, null), ("STARTTLS", 220, "2.0.0")], Steps(Transcript(message, 2)).Take(3));
        Assert.Contains("TLS handshake with tls", Error(message, 2));
        var authSteps = Steps(Transcript(message, 3));
        Assert.Contains(authSteps, s => s.Command?.StartsWith("AUTH", StringComparison.Ordinal) == true && s.Code == 535);
        Assert.DoesNotContain(authSteps, s => s.Command?.StartsWith("MAIL", StringComparison.Ordinal) == true);
        Assert.Contains("refused the credentials of Relays:3:Username", Error(message, 3));
        Assert.Contains((".", 250, "2.0.0"), Steps(Transcript(message, 4)));

        Assert.Single(good.Messages);
        Assert.Empty(auth.Messages);
        Assert.DoesNotContain(tls.ReceivedLines, l => l.StartsWith("MAIL", StringComparison.OrdinalIgnoreCase));
        Assert.Null(message["nextAttemptAt"]);
    }

    [Fact]
    public async Task Every_relay_failing_defers_the_message_with_one_attempt_per_relay_and_only_the_last_counts_as_a_try()
    {
        var first = FreePort.Get();
        var second = FreePort.Get();
        using var factory = new MailApiFactory(first, new Dictionary<string, string?>(Settings(
            Relay("first", first, ("Priority", "0")),
            Relay("second", second, ("Priority", "1"))))
        {
            ["Delivery:RetryDelays:0"] = "01:00:00",
        });

        var (client, id) = await SendAsync(factory, Bodies.Valid());
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, AfterAnAttempt);

        Assert.Equal("deferred", (string?)message["status"]);
        Assert.Equal([("first", "deferred", true), ("second", "deferred", false)], Tried(message));
        Assert.NotNull(message["nextAttemptAt"]);
        Assert.Equal("pending", (string?)Recipient(message, "student@domain.local")["status"]);
    }

    [Fact]
    public async Task A_4yz_to_the_end_of_data_is_the_messages_own_answer_the_next_relay_is_not_tried_and_the_retry_goes_to_the_first_again()
    {
        await using var primary = await TestSmtpServer.StartAsync();
        primary.FinalReply(451, "4.3.0 Error: queue file write error", times: 1);
        await using var backup = await TestSmtpServer.StartAsync();
        using var factory = new MailApiFactory(primary.Port, Settings(
            Relay("primary", primary.Port, ("Priority", "0")),
            Relay("backup", backup.Port, ("Priority", "1"))));

        var (client, id) = await SendAsync(factory, Bodies.Valid());
        var message = await WaitForAttemptsAsync(client, id, 2, "sent");

        Assert.Equal([("primary", "deferred", false), ("primary", "sent", false)], Tried(message));
        Assert.Contains((".", 451, "4.3.0"), Steps(Transcript(message, 0)));
        Assert.Equal(0, backup.ConnectionCount);
        Assert.Single(primary.Messages);
    }

    [Fact]
    public async Task A_5yz_to_the_end_of_data_fails_the_message_without_trying_the_next_relay()
    {
        await using var primary = await TestSmtpServer.StartAsync();
        primary.FinalReply(554, "5.7.1 Message rejected as spam");
        await using var backup = await TestSmtpServer.StartAsync();
        using var factory = new MailApiFactory(primary.Port, Settings(
            Relay("primary", primary.Port, ("Priority", "0")),
            Relay("backup", backup.Port, ("Priority", "1"))));

        var (client, id) = await SendAsync(factory, Bodies.Valid());
        await MailApiFactory.WaitForStatusAsync(client, id, Patience, AfterAnAttempt);
        var message = await AssertNoFurtherAttemptAsync(factory, client, id, 1);

        Assert.Equal("failed", (string?)message["status"]);
        Assert.Equal([("primary", "failed", false)], Tried(message));
        Assert.Equal(0, backup.ConnectionCount);
    }

    [Fact]
    public async Task An_end_of_data_without_a_reply_is_not_sent_to_another_relay_in_the_same_attempt()
    {
        // The relay reads the whole message, then hangs up instead of answering the final dot: it may have the message.
        await using var primary = RawSmtpServer.Dialogue(line => line == "." ? null : RawSmtpServer.DefaultAnswer(line));
        await using var backup = await TestSmtpServer.StartAsync();
        using var factory = new MailApiFactory(primary.Port, new Dictionary<string, string?>(Settings(
            Relay("primary", primary.Port, ("Priority", "0")),
            Relay("backup", backup.Port, ("Priority", "1"))))
        {
            ["Delivery:RetryDelays:0"] = "01:00:00",
        });

        var (client, id) = await SendAsync(factory, Bodies.Valid());
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, AfterAnAttempt);

        Assert.Equal("deferred", (string?)message["status"]);
        Assert.Equal([("primary", "deferred", false)], Tried(message));
        Assert.Contains((".", 0, null), Steps(Transcript(message)));
        Assert.Equal(0, backup.ConnectionCount);
    }
}
