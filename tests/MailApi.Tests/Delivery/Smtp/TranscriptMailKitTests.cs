using MailApi.Delivery.Smtp;
using MailKit.Net.Smtp;
using Microsoft.Extensions.Logging.Abstractions;
using static MailApi.Tests.Delivery.Smtp.RecorderFeed;

namespace MailApi.Tests.Delivery.Smtp;

/// <summary>The recorder behind a real MailKit client and a scripted server on 127.0.0.1, where the dialogue breaks off.</summary>
public sealed class TranscriptMailKitTests
{
    [Fact]
    public async Task Real_MailKit_hang_up_after_the_dot_leaves_the_dot_without_reply()
    {
        var ct = TestContext.Current.CancellationToken;
        var answers = new PostfixAnswers { HangUpAfterDot = true };
        await using var server = RawSmtpServer.Dialogue(answers.Answer, PostfixAnswers.Greeting, splitReplies: true);
        var recorder = new TranscriptRecorder();
        using var client = new SmtpClient(recorder);
        client.LocalDomain = "mailapi.local";
        await client.ConnectAsync("127.0.0.1", server.Port, MailKit.Security.SecureSocketOptions.None, ct);

        await Assert.ThrowsAsync<SmtpProtocolException>(() => client.SendAsync(SecretMessage(), ct));

        Assert.False(client.IsConnected);
        Assert.Equal(new TranscriptEntry(".", null), recorder.LastEntry);
        Assert.Equal(E("DATA", 354, null, "End data with <CR><LF>.<CR><LF>"), recorder.Entries[^2]);
        AssertNoSecrets(recorder.Entries);
    }

    [Fact]
    public async Task Real_MailKit_refused_recipient_is_recorded_with_its_reply()
    {
        var ct = TestContext.Current.CancellationToken;
        var answers = new PostfixAnswers { RefuseRecipient = "other@domain.local" };
        await using var server = RawSmtpServer.Dialogue(answers.Answer, PostfixAnswers.Greeting, splitReplies: true);
        var recorder = new TranscriptRecorder();
        using var client = new SmtpClient(recorder);
        client.LocalDomain = "mailapi.local";
        await client.ConnectAsync("127.0.0.1", server.Port, MailKit.Security.SecureSocketOptions.None, ct);

        // MailKit's default: the first refused RCPT throws and it sends RSET.
        await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(SecretMessage(), ct));
        await client.DisconnectAsync(true, ct);

        Assert.Contains(E("RCPT TO:<other@domain.local>", 550, "5.1.1", "<other@domain.local>: Recipient address rejected: User unknown"), recorder.Entries);
        Assert.Equal(answers.Commands, recorder.Entries.Skip(1).Select(e => e.Command));
        Assert.All(recorder.Entries, e => Assert.NotNull(e.Reply));
    }

    [Fact]
    public async Task A_pooled_connection_sends_binary_content_with_DATA_though_the_relay_offers_CHUNKING()
    {
        // The recorder knows the content only by DATA's terminator; BDAT content would be read as commands.
        // MailKit would take BDAT for binary content to a relay with CHUNKING and BINARYMIME (RFC 3030).
        var ct = TestContext.Current.CancellationToken;
        var answers = new PostfixAnswers { BinaryMime = true };
        await using var server = RawSmtpServer.Dialogue(answers.Answer, PostfixAnswers.Greeting, splitReplies: true);
        using var connection = new PooledConnection("c1", new SmtpOptions { Host = "127.0.0.1", Port = server.Port, Security = SmtpSecurity.None });
        await connection.OpenAsync(NullLogger.Instance, ct);

        var message = SecretMessage();
        message.Body = new MimeKit.MimePart("application", "octet-stream")
        {
            Content = new MimeKit.MimeContent(new MemoryStream("secret\0binary\r\n.\r\nRCPT TO:<hidden@x>\r\n"u8.ToArray())),
            ContentTransferEncoding = MimeKit.ContentEncoding.Binary,
        };
        await connection.Client.SendAsync(message, ct);
        await connection.QuitQuietlyAsync();

        Assert.DoesNotContain(answers.Commands, c => c.StartsWith("BDAT", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(answers.Commands, connection.Recorder.Entries.Skip(1).Select(e => e.Command));
        Assert.Contains(connection.Recorder.Entries, e => e is { Command: ".", Reply.Code: 250 });
        AssertNoSecrets(connection.Recorder.Entries);
    }
}
