using MailApi.Delivery.Rules;
using MailApi.Delivery.Smtp;
using static MailApi.Tests.Delivery.Smtp.RecorderFeed;

namespace MailApi.Tests.Delivery.Smtp;

/// <summary>
/// AUTH in the transcript: <c>AUTH &lt;MECH&gt; ***</c> with the final reply, no challenge, no answer, no credential in any
/// form; first on canned bytes, then through a real MailKit client, whose secret detector the recorder relies on.
/// </summary>
public sealed class TranscriptAuthTests
{
    [Fact]
    public void Auth_plain_with_initial_response()
    {
        var recorder = new TranscriptRecorder();
        recorder.LogConnect(Upstream);
        Server(recorder, "220 hi\r\n");
        Client(recorder, "AUTH PLAIN " + PlainBase64 + "\r\n");
        Server(recorder, "235 2.7.0 Authentication successful\r\n");
        Client(recorder, "MAIL FROM:<a@b.c>\r\n");
        Server(recorder, "250 2.1.0 Ok\r\n");

        Assert.Equal(
            [E(null, 220, null, "hi"), E("AUTH PLAIN ***", 235, "2.7.0", "Authentication successful"), E("MAIL FROM:<a@b.c>", 250, "2.1.0", "Ok")],
            recorder.Entries);
        AssertNoSecrets(recorder.Entries);
    }

    [Fact]
    public void Auth_plain_without_initial_response_and_lower_case_mechanism()
    {
        var recorder = new TranscriptRecorder();
        recorder.LogConnect(Upstream);
        Client(recorder, "auth plain\r\n");
        Server(recorder, "334 \r\n");
        Client(recorder, PlainBase64 + "\r\n");
        Server(recorder, "235 2.7.0 Authentication successful\r\n");

        Assert.Equal([E("AUTH PLAIN ***", 235, "2.7.0", "Authentication successful")], recorder.Entries);
        AssertNoSecrets(recorder.Entries);
    }

    [Fact]
    public void Auth_failure_is_the_auth_reply_and_the_next_command_is_recorded()
    {
        var recorder = new TranscriptRecorder();
        recorder.LogConnect(Upstream);
        Client(recorder, "AUTH LOGIN\r\n");
        Server(recorder, "334 VXNlcm5hbWU6\r\n");
        Client(recorder, UserBase64 + "\r\n");
        Server(recorder, "334 UGFzc3dvcmQ6\r\n");
        Client(recorder, PasswordBase64 + "\r\n");
        Server(recorder, "535 5.7.8 Error: authentication failed: authentication failure\r\n");
        Client(recorder, "QUIT\r\n");
        Server(recorder, "221 2.0.0 Bye\r\n");

        Assert.Equal(
            [E("AUTH LOGIN ***", 535, "5.7.8", "Error: authentication failed: authentication failure"), E("QUIT", 221, "2.0.0", "Bye")],
            recorder.Entries);
        AssertNoSecrets(recorder.Entries);
    }

    [Fact]
    public void Sasl_cancel_with_an_empty_line_is_not_recorded()
    {
        // MailKit answers a challenge its mechanism cannot take with an empty line (RFC 4954 §4 would also allow "*").
        var recorder = new TranscriptRecorder();
        recorder.LogConnect(Upstream);
        Client(recorder, "AUTH XOAUTH2 " + PasswordBase64 + "\r\n");
        Server(recorder, "334 eyJzdGF0dXMiOiI0MDAifQ==\r\n");
        Client(recorder, "\r\n");
        Server(recorder, "535 5.7.8 Username and Password not accepted\r\n");

        Assert.Equal([E("AUTH XOAUTH2 ***", 535, "5.7.8", "Username and Password not accepted")], recorder.Entries);
        AssertNoSecrets(recorder.Entries);
    }

    [Fact]
    public void MailKit_gives_its_secret_detector_to_the_recorder()
    {
        // MailKit's SmtpClient sets the detector on whatever IProtocolLogger it is given; the recorder depends on it.
        var recorder = new TranscriptRecorder();
        using var client = new MailKit.Net.Smtp.SmtpClient(recorder);

        Assert.NotNull(recorder.AuthenticationSecretDetector);
    }

    [Theory]
    [InlineData("PLAIN", true)]
    [InlineData("LOGIN", true)]
    [InlineData("PLAIN", false)]
    [InlineData("LOGIN", false)]
    public async Task Real_MailKit_session_is_recorded_command_by_command(string mechanism, bool pipelining)
    {
        var ct = TestContext.Current.CancellationToken;
        var answers = new PostfixAnswers { Pipelining = pipelining, AuthMechanisms = mechanism };
        await using var server = RawSmtpServer.Dialogue(answers.Answer, PostfixAnswers.Greeting, splitReplies: true);
        var recorder = new TranscriptRecorder();
        var spy = new ChunkSpy(recorder);
        string finalText;
        using (var client = new MailKit.Net.Smtp.SmtpClient(spy))
        {
            client.LocalDomain = "mailapi.local";
            await client.ConnectAsync("127.0.0.1", server.Port, MailKit.Security.SecureSocketOptions.None, ct);
            await client.AuthenticateAsync(User, Password, ct);
            finalText = await client.SendAsync(SecretMessage(), ct);
            await client.DisconnectAsync(true, ct);
        }

        var entries = recorder.Entries;
        Assert.Equal(E(null, 220, null, "profbox.domain.local ESMTP Postfix"), entries[0]);
        Assert.Equal(answers.Commands, entries.Skip(1).Select(e => e.Command));
        Assert.All(entries, e => Assert.NotNull(e.Reply));
        Assert.Equal(
            ["EHLO mailapi.local", $"AUTH {mechanism} ***"],
            entries.Skip(1).Take(2).Select(e => e.Command));
        Assert.Equal(new SmtpReply(235, "2.7.0", "Authentication successful"), entries[2].Reply);
        Assert.StartsWith("MAIL FROM:<zotrim@domain.local>", entries[3].Command);
        Assert.Equal(E("RCPT TO:<student@domain.local>", 250, "2.1.5", "Ok"), entries[4]);
        Assert.Equal(E("RCPT TO:<other@domain.local>", 250, "2.1.5", "Ok"), entries[5]);
        Assert.Equal(E("DATA", 354, null, "End data with <CR><LF>.<CR><LF>"), entries[6]);
        Assert.Equal(E(".", 250, "2.0.0", "Ok: queued as 4Y3Xq45ZKxz9sWN"), entries[7]);
        Assert.Equal(E("QUIT", 221, "2.0.0", "Bye"), entries[8]);
        Assert.Equal(9, entries.Count);

        Assert.Equal("2.0.0 Ok: queued as 4Y3Xq45ZKxz9sWN", finalText);
        Assert.Equal("4Y3Xq45ZKxz9sWN", QueueIdParser.Parse(finalText));
        Assert.Equal("4Y3Xq45ZKxz9sWN", QueueIdParser.Parse(entries[7].Reply?.Text));

        // The server really got the credentials, MailKit's detector reported each of them and nothing else,
        // and the recorder holds none of them.
        Assert.NotEmpty(answers.Credentials);
        Assert.Equal(answers.Credentials, spy.ReportedSecrets);
        var recorded = string.Join("\n", entries.Select(e => $"{e.Command}|{e.Reply?.Text}"));
        foreach (var credential in answers.Credentials)
        {
            Assert.DoesNotContain(credential, recorded, StringComparison.Ordinal);
        }
        AssertNoSecrets(entries);

        // MailKit's write pattern, which the recorder must cope with.
        var clientChunks = spy.Chunks.Where(c => c.Client).Select(c => c.Text).ToList();
        if (pipelining)
        {
            Assert.Contains(clientChunks, c => c.StartsWith("MAIL FROM:", StringComparison.Ordinal) && c.Contains("RCPT TO:<other@domain.local>\r\n", StringComparison.Ordinal));
        }
        else
        {
            Assert.DoesNotContain(clientChunks, c => c.StartsWith("MAIL FROM:", StringComparison.Ordinal) && c.Contains("RCPT", StringComparison.Ordinal));
        }
        Assert.Contains("DATA\r\n", clientChunks);
    }
}
