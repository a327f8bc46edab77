using System.Net.Sockets;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace MailApi.Tests.Infrastructure;

public sealed class TestSmtpServerTests
{
    internal static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    internal static MimeMessage Message(string subject = "Test message", params string[] to)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("Zotrim <zotrim@domain.local>"));
        foreach (var address in to.Length == 0 ? ["student@domain.local"] : to)
        {
            message.To.Add(MailboxAddress.Parse(address));
        }

        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = "Hello,\r\n.a line that starts with a dot\r\nBye\r\n" };
        return message;
    }

    internal static async Task<SmtpClient> ConnectAsync(TestSmtpServer server,
        SecureSocketOptions security = SecureSocketOptions.None, SmtpClient? client = null)
    {
        client ??= new SmtpClient();
        client.Timeout = 10_000;
        client.ServerCertificateValidationCallback = (_, _, _, _) => true;
        await client.ConnectAsync("127.0.0.1", server.Port, security, Ct);
        return client;
    }

    [Fact]
    public async Task Takes_a_message_and_answers_like_postfix()
    {
        await using var server = await TestSmtpServer.StartAsync(cancellationToken: Ct);
        using var client = await ConnectAsync(server);

        var reply = await client.SendAsync(Message(), Ct);
        var received = Assert.Single(await server.WaitForMessagesAsync(1, Timeout, Ct));

        Assert.Equal($"2.0.0 Ok: queued as {received.QueueId}", reply);
        Assert.Matches("^[0-9A-F]{10}$", received.QueueId);
        Assert.Equal("zotrim@domain.local", received.From);
        Assert.Equal(["student@domain.local"], received.Recipients);
        Assert.Equal("Test message", received.Message.Subject);
        Assert.Equal("Hello,\n.a line that starts with a dot\nBye\n", received.Message.TextBody?.ReplaceLineEndings("\n"));
        Assert.Contains("\r\n.a line that starts with a dot\r\n", received.RawText);
        Assert.EndsWith("Bye\r\n", received.RawText);
        Assert.False(received.Secure);
        Assert.Null(received.AuthenticatedUser);
        Assert.Equal(1, server.ConnectionCount);
        Assert.Contains("MAIL", server.Commands);
    }

    [Fact]
    public async Task Advertises_pipelining_8bitmime_and_smtputf8_but_no_auth_or_starttls_by_default()
    {
        await using var server = await TestSmtpServer.StartAsync(cancellationToken: Ct);
        using var client = await ConnectAsync(server);

        Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.Pipelining));
        Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.EightBitMime));
        Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.UTF8));
        Assert.False(client.Capabilities.HasFlag(SmtpCapabilities.StartTLS));
        Assert.False(client.Capabilities.HasFlag(SmtpCapabilities.Authentication));
        Assert.False(client.Capabilities.HasFlag(SmtpCapabilities.Size));
    }

    [Fact]
    public async Task Wire_replies_carry_the_scripted_text_exactly_and_multi_line_replies_work()
    {
        await using var server = await TestSmtpServer.StartAsync(new() { MaxMessageSize = 1000 }, Ct);
        server.RejectRecipient("bad@domain.local");
        await using var wire = await SmtpWire.ConnectAsync(server.Port, Ct);

        Assert.Equal(["220 testsmtp.localhost ESMTP TestSmtpServer"], await wire.ReadReplyAsync(Ct));
        Assert.Equal(
            ["250-testsmtp.localhost", "250-PIPELINING", "250-8BITMIME", "250-SMTPUTF8", "250 SIZE 1000"],
            await wire.CommandAsync("EHLO client.local", Ct));
        Assert.Equal(["250 Ok"], await wire.CommandAsync("MAIL FROM:<a@domain.local>", Ct));
        Assert.Equal(["550 5.1.1 <bad@domain.local>: Recipient address rejected: User unknown"],
            await wire.CommandAsync("RCPT TO:<bad@domain.local>", Ct));
        Assert.Equal(["250 Ok"], await wire.CommandAsync("RCPT TO:<good@domain.local>", Ct));
        Assert.Equal(["354 end with <CRLF>.<CRLF>"], await wire.CommandAsync("DATA", Ct));
        await wire.SendAsync("Subject: hi\r\n\r\n..dot", Ct);
        var final = await wire.CommandAsync(".", Ct);
        Assert.Equal([$"250 2.0.0 Ok: queued as {server.Messages[0].QueueId}"], final);
        Assert.Equal(["221 bye"], await wire.CommandAsync("QUIT", Ct));

        Assert.Equal("Subject: hi\r\n\r\n.dot\r\n", server.Messages[0].RawText);
        Assert.Equal(["good@domain.local"], server.Messages[0].Recipients);
    }

    [Fact]
    public async Task Rejected_recipient_gets_550_and_the_others_still_get_the_message()
    {
        await using var server = await TestSmtpServer.StartAsync(cancellationToken: Ct);
        server.RejectRecipient("nobody@domain.local");

        using (var client = await ConnectAsync(server))
        {
            var error = await Assert.ThrowsAsync<SmtpCommandException>(
                () => client.SendAsync(Message("one", "student@domain.local", "nobody@domain.local"), Ct));
            Assert.Equal(SmtpErrorCode.RecipientNotAccepted, error.ErrorCode);
            Assert.Equal(SmtpStatusCode.MailboxUnavailable, error.StatusCode);
            Assert.Equal("nobody@domain.local", error.Mailbox?.Address);
            Assert.StartsWith("5.1.1 ", error.Message, StringComparison.Ordinal);
        }

        using (var lenient = await ConnectAsync(server, client: new LenientSmtpClient()))
        {
            await lenient.SendAsync(Message("two", "student@domain.local", "nobody@domain.local"), Ct);
        }

        var received = Assert.Single(await server.WaitForMessagesAsync(1, Timeout, Ct));
        Assert.Equal("two", received.Message.Subject);
        Assert.Equal(["student@domain.local"], received.Recipients);
    }

    [Fact]
    public async Task Deferred_recipient_is_accepted_after_the_given_number_of_times()
    {
        await using var server = await TestSmtpServer.StartAsync(cancellationToken: Ct);
        server.DeferRecipient("later@domain.local", times: 2);
        using var client = await ConnectAsync(server);

        for (var i = 0; i < 2; i++)
        {
            var error = await Assert.ThrowsAsync<SmtpCommandException>(
                () => client.SendAsync(Message(to: "later@domain.local"), Ct));
            Assert.Equal(SmtpStatusCode.MailboxBusy, error.StatusCode);
            Assert.StartsWith("4.2.0 ", error.Message, StringComparison.Ordinal);
        }

        await client.SendAsync(Message(to: "later@domain.local"), Ct);
        var received = Assert.Single(await server.WaitForMessagesAsync(1, Timeout, Ct));
        Assert.Equal(["later@domain.local"], received.Recipients);
    }

    [Theory]
    [InlineData(554, "5.7.1 rejected", SmtpStatusCode.TransactionFailed)]
    [InlineData(451, "4.3.0 Error: queue file write error", SmtpStatusCode.ErrorInProcessing)]
    public async Task Final_reply_can_be_scripted(int code, string text, SmtpStatusCode expected)
    {
        await using var server = await TestSmtpServer.StartAsync(cancellationToken: Ct);
        server.FinalReply(code, text, times: 1);
        using var client = await ConnectAsync(server);

        var error = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Message(), Ct));
        Assert.Equal(SmtpErrorCode.MessageNotAccepted, error.ErrorCode);
        Assert.Equal(expected, error.StatusCode);
        Assert.Equal(text, error.Message);
        Assert.Empty(server.Messages);
        Assert.Single(server.RejectedMessages);

        var reply = await client.SendAsync(Message(), Ct);
        Assert.StartsWith("2.0.0 Ok: queued as ", reply, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connection_refused_until_a_server_starts_on_a_reserved_port_and_again_after_dispose()
    {
        var port = FreePort.Get();
        await AssertRefusedAsync(port);

        await using (var server = await TestSmtpServer.StartAsync(new() { Port = port }, Ct))
        {
            Assert.Equal(port, server.Port);
            using var client = await ConnectAsync(server);
            await client.SendAsync(Message(), Ct);
            await client.DisconnectAsync(true, Ct);
        }

        await AssertRefusedAsync(port);
    }

    [Fact]
    public async Task Dispose_closes_open_connections()
    {
        var server = await TestSmtpServer.StartAsync(cancellationToken: Ct);
        using var client = await ConnectAsync(server);
        await server.DisposeAsync();

        await Assert.ThrowsAnyAsync<Exception>(() => client.SendAsync(Message(), Ct));
        await AssertRefusedAsync(server.Port);
    }

    [Fact]
    public async Task Held_final_replies_wait_for_the_release_and_the_hold_counts_the_waiting_dialogues()
    {
        await using var server = await TestSmtpServer.StartAsync(cancellationToken: Ct);
        server.HoldFinalReplies();
        using var first = await ConnectAsync(server);
        using var second = await ConnectAsync(server);

        var sends = new[] { first.SendAsync(Message("one"), Ct), second.SendAsync(Message("two"), Ct) };
        await server.WaitForHeldRepliesAsync(2, Timeout, Ct);

        Assert.Equal(2, server.Messages.Count); // taken, and the clients do not know it yet
        Assert.All(sends, s => Assert.False(s.IsCompleted));
        server.ReleaseFinalReplies();
        Assert.All(await Task.WhenAll(sends), reply => Assert.StartsWith("2.0.0 Ok: queued as ", reply, StringComparison.Ordinal));

        server.HoldFinalReplies(); // a new hold counts from zero
        var third = first.SendAsync(Message("three"), Ct);
        await server.WaitForHeldRepliesAsync(1, Timeout, Ct);
        await Assert.ThrowsAsync<TimeoutException>(() => server.WaitForHeldRepliesAsync(2, TimeSpan.FromMilliseconds(200), Ct));
        server.ReleaseFinalReplies();
        await third;
    }

    private static async Task AssertRefusedAsync(int port)
    {
        using var tcp = new TcpClient();
        var error = await Assert.ThrowsAsync<SocketException>(() => tcp.ConnectAsync("127.0.0.1", port, Ct).AsTask());
        Assert.Equal(SocketError.ConnectionRefused, error.SocketErrorCode);
    }

    /// <summary>Goes on with the accepted recipients when some are rejected (as the delivery job must).</summary>
    private sealed class LenientSmtpClient : SmtpClient
    {
        protected override void OnRecipientNotAccepted(MimeMessage message, MailboxAddress mailbox, SmtpResponse response)
        {
        }
    }
}
