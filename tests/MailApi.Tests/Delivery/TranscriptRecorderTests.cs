using System.Text;
using MailApi.Delivery.Rules;
using MailApi.Delivery.Smtp;

namespace MailApi.Tests.Delivery;

public class TranscriptRecorderTests
{
    const string User = "zotrim@domain.local";
    const string Password = "s3cr3t-P4ss";
    static readonly string UserBase64 = Convert.ToBase64String(Encoding.ASCII.GetBytes(User));
    static readonly string PasswordBase64 = Convert.ToBase64String(Encoding.ASCII.GetBytes(Password));
    static readonly string PlainBase64 = Convert.ToBase64String(Encoding.ASCII.GetBytes("\0" + User + "\0" + Password));

    static readonly Uri Upstream = new("smtp://smtp.domain.local:587");

    // Feeds bytes the way MailKit does: a slice of a larger buffer, so offsets matter.
    static void Client(TranscriptRecorder recorder, string chunk)
    {
        var bytes = Encoding.ASCII.GetBytes("##" + chunk + "##");
        recorder.LogClient(bytes, 2, bytes.Length - 4);
    }

    static void Server(TranscriptRecorder recorder, string chunk)
    {
        var bytes = Encoding.ASCII.GetBytes("##" + chunk + "##");
        recorder.LogServer(bytes, 2, bytes.Length - 4);
    }

    static TranscriptEntry E(string? command, int code, string? enhanced, string text) =>
        new(command, new SmtpReply(code, enhanced, text));

    const string EhloReply = "250-profbox.domain.local\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n";
    const string EhloText = "profbox.domain.local\nPIPELINING\nSTARTTLS\nAUTH PLAIN LOGIN";

    // A whole session as (isClient, chunk) steps, with the chunking MailKit produces or worse.
    static IEnumerable<(bool Client, string Chunk)> FullSession()
    {
        yield return (false, "220 profbox.domain.local ES");
        yield return (false, "MTP Postfix\r\n");
        yield return (true, "EHLO mailapi.local\r\n");
        yield return (false, EhloReply);
        yield return (true, "STARTTLS\r\n");
        yield return (false, "220 2.0.0 Ready to start TLS\r\n");
        yield return (true, "EHLO mailapi.local\r\n");
        yield return (false, EhloReply);
        yield return (true, "AUTH LOGIN\r\n");
        yield return (false, "334 VXNlcm5hbWU6\r\n");
        yield return (true, UserBase64 + "\r\n");
        yield return (false, "334 UGFzc3dvcmQ6\r\n");
        yield return (true, PasswordBase64[..5]);
        yield return (true, PasswordBase64[5..] + "\r\n");
        yield return (false, "235 2.7.0 Authentication successful\r\n");
        yield return (true, "MAIL FROM:<zotrim@domain.local> SIZE=321\r\nRCPT TO:<student@domain.local>\r\nRCPT TO:<other@domain.local>\r\n");
        yield return (false, "250 2.1.0 Ok\r\n250 2.1");
        yield return (false, ".5 Ok\r\n25");
        yield return (false, "0 2.1.5 Ok\r\n");
        yield return (true, "DATA\r\n");
        yield return (false, "354 End data with <CR><LF>.<CR><LF>\r\n");
        yield return (true, "Subject: Top secret plans\r\n\r\nsecret line one\r\n");
        yield return (true, "..\r\n");
        yield return (true, "..hidden dotted line\r\nsecret last line\r");
        yield return (true, "\n.");
        yield return (true, "\r\n");
        yield return (false, "250 2.0.0 Ok: queued as 092D0CD01\r\n");
        yield return (true, "QUIT\r\n");
        yield return (false, "221 2.0.0 Bye\r\n");
    }

    static readonly TranscriptEntry[] FullSessionEntries =
    [
        E(null, 220, null, "profbox.domain.local ESMTP Postfix"),
        E("EHLO mailapi.local", 250, null, EhloText),
        E("STARTTLS", 220, "2.0.0", "Ready to start TLS"),
        E("EHLO mailapi.local", 250, null, EhloText),
        E("AUTH LOGIN ***", 235, "2.7.0", "Authentication successful"),
        E("MAIL FROM:<zotrim@domain.local> SIZE=321", 250, "2.1.0", "Ok"),
        E("RCPT TO:<student@domain.local>", 250, "2.1.5", "Ok"),
        E("RCPT TO:<other@domain.local>", 250, "2.1.5", "Ok"),
        E("DATA", 354, null, "End data with <CR><LF>.<CR><LF>"),
        E(".", 250, "2.0.0", "Ok: queued as 092D0CD01"),
        E("QUIT", 221, "2.0.0", "Bye"),
    ];

    static void AssertNoSecrets(IEnumerable<TranscriptEntry> entries)
    {
        var all = string.Join("\n", entries.Select(e => $"{e.Command}|{e.Reply?.Text}"));
        foreach (var secret in new[] { Password, PasswordBase64, UserBase64, PlainBase64, PasswordBase64[..5], "secret", "hidden", "Subject", "VXNlcm5hbWU6", "UGFzc3dvcmQ6" })
            Assert.DoesNotContain(secret, all, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Full_session_entry_by_entry()
    {
        var recorder = new TranscriptRecorder();
        recorder.LogConnect(Upstream);
        foreach (var (client, chunk) in FullSession())
        {
            if (client) Client(recorder, chunk);
            else Server(recorder, chunk);
        }

        var entries = recorder.Entries;
        Assert.Equal(FullSessionEntries.Length, entries.Count);
        for (var i = 0; i < entries.Count; i++)
            Assert.Equal(FullSessionEntries[i], entries[i]);
        AssertNoSecrets(entries);
        Assert.Equal(new SmtpReply(221, "2.0.0", "Bye"), recorder.LastReply);
        Assert.Equal(E(".", 250, "2.0.0", "Ok: queued as 092D0CD01"), recorder.FindLast(e => e.Command == "."));
        Assert.Equal(1, recorder.ConnectionCount);
        Assert.Equal(0, recorder.PendingCount);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(7)]
    [InlineData(64)]
    public void Any_chunking_gives_the_same_entries(int size)
    {
        var recorder = new TranscriptRecorder();
        recorder.LogConnect(Upstream);
        foreach (var (client, chunk) in FullSession())
        {
            for (var i = 0; i < chunk.Length; i += size)
            {
                var piece = chunk.Substring(i, Math.Min(size, chunk.Length - i));
                if (client) Client(recorder, piece);
                else Server(recorder, piece);
            }
        }

        Assert.Equal(FullSessionEntries, recorder.Entries);
        AssertNoSecrets(recorder.Entries);
    }

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
    public void Connection_dropped_after_the_dot_leaves_the_dot_without_reply()
    {
        var recorder = new TranscriptRecorder();
        recorder.LogConnect(Upstream);
        Server(recorder, "220 hi\r\n");
        Client(recorder, "DATA\r\n");
        Server(recorder, "354 go ahead\r\n");
        Client(recorder, "Subject: secret\r\n\r\nsecret body\r\n.\r\n");

        Assert.Equal([E(null, 220, null, "hi"), E("DATA", 354, null, "go ahead"), new TranscriptEntry(".", null)], recorder.Entries);
        Assert.Equal(1, recorder.PendingCount);

        // The retry connects again: its greeting is not the dot's reply.
        recorder.LogConnect(Upstream);
        Server(recorder, "220 again\r\n");

        var entries = recorder.Entries;
        Assert.Equal(new TranscriptEntry(".", null), entries[2]);
        Assert.Equal(E(null, 220, null, "again"), entries[3]);
        Assert.Equal(2, recorder.ConnectionCount);
        Assert.Equal(new TranscriptEntry(".", null), recorder.FindLast(e => e.Command == "."));
        AssertNoSecrets(entries);
    }

    [Fact]
    public void Partial_command_of_a_dropped_connection_is_forgotten()
    {
        var recorder = new TranscriptRecorder();
        recorder.LogConnect(Upstream);
        Client(recorder, "MAIL FROM:<a@b");
        recorder.LogConnect(Upstream);
        Server(recorder, "220 hi\r\n");

        Assert.Equal([E(null, 220, null, "hi")], recorder.Entries);
    }

    [Fact]
    public void Empty_body_ends_at_the_first_dot_line()
    {
        var recorder = new TranscriptRecorder();
        Client(recorder, "DATA\r\n");
        Server(recorder, "354 go ahead\r\n");
        Client(recorder, ".\r\n");
        Server(recorder, "250 2.0.0 Ok: queued as ABC\r\n");

        Assert.Equal([E("DATA", 354, null, "go ahead"), E(".", 250, "2.0.0", "Ok: queued as ABC")], recorder.Entries);
    }

    [Fact]
    public void Refused_data_returns_to_commands()
    {
        var recorder = new TranscriptRecorder();
        Client(recorder, "DATA\r\n");
        Server(recorder, "554 5.5.1 Error: no valid recipients\r\n");
        Client(recorder, "RSET\r\n");
        Server(recorder, "250 2.0.0 Ok\r\n");

        Assert.Equal([E("DATA", 554, "5.5.1", "Error: no valid recipients"), E("RSET", 250, "2.0.0", "Ok")], recorder.Entries);
    }

    [Fact]
    public void Commands_after_the_dot_in_the_same_chunk_are_recorded()
    {
        var recorder = new TranscriptRecorder();
        Client(recorder, "DATA\r\n");
        Server(recorder, "354 go\r\n");
        Client(recorder, "secret\r\n.\r\nMAIL FROM:<x@y.z>\r\n");
        Server(recorder, "250 2.0.0 Ok: queued as A1\r\n250 2.1.0 Ok\r\n");

        Assert.Equal(
            [E("DATA", 354, null, "go"), E(".", 250, "2.0.0", "Ok: queued as A1"), E("MAIL FROM:<x@y.z>", 250, "2.1.0", "Ok")],
            recorder.Entries);
    }

    [Fact]
    public void Bdat_content_is_skipped_by_its_size()
    {
        var recorder = new TranscriptRecorder();
        const string content = "Subject: secret\r\n\r\n.\r\nRCPT TO:<hidden@x>\r\n";
        Client(recorder, $"BDAT {content.Length} LAST\r\n" + content[..10]);
        Client(recorder, content[10..] + "QUIT\r\n");
        Server(recorder, "250 2.0.0 Ok: queued as B1\r\n221 2.0.0 Bye\r\n");

        Assert.Equal([E($"BDAT {content.Length} LAST", 250, "2.0.0", "Ok: queued as B1"), E("QUIT", 221, "2.0.0", "Bye")], recorder.Entries);
        AssertNoSecrets(recorder.Entries);
    }

    [Fact]
    public void Reply_that_comes_during_the_content_is_the_reply_to_the_end_of_data()
    {
        // smtp-sink -A 0: "354" and "550" in one chunk, before the client sends the content; MailKit then reads
        // the 550 as the answer to its final dot.
        var recorder = new TranscriptRecorder();
        recorder.LogConnect(Upstream);
        Client(recorder, "DATA\r\n");
        Server(recorder, "354 End data with <CR><LF>.<CR><LF>\r\n550 This violates SMTP\r\n");
        Assert.Equal(E(null, 550, null, "This violates SMTP"), recorder.LastEntry); // until the dot goes out
        Client(recorder, "Subject: secret\r\n\r\nsecret body\r\n.\r\n");
        Client(recorder, "RSET\r\n");

        Assert.Equal(
            [E("DATA", 354, null, "End data with <CR><LF>.<CR><LF>"), E(".", 550, null, "This violates SMTP"), new TranscriptEntry("RSET", null)],
            recorder.Entries);
        Assert.Equal(1, recorder.PendingCount);
        AssertNoSecrets(recorder.Entries);
    }

    [Fact]
    public void Reply_during_the_content_stays_unsolicited_when_no_dot_follows()
    {
        var recorder = new TranscriptRecorder();
        recorder.LogConnect(Upstream);
        Client(recorder, "DATA\r\n");
        Server(recorder, "354 go\r\n421 4.4.2 Error: timeout exceeded\r\n");
        recorder.LogConnect(Upstream); // the connection broke while the content was written
        Server(recorder, "220 again\r\n");
        Client(recorder, "EHLO x\r\n");

        Assert.Equal(
            [E("DATA", 354, null, "go"), E(null, 421, "4.4.2", "Error: timeout exceeded"), E(null, 220, null, "again"), new TranscriptEntry("EHLO x", null)],
            recorder.Entries);
    }

    [Fact]
    public void Unsolicited_reply_has_no_command()
    {
        var recorder = new TranscriptRecorder();
        Server(recorder, "220 hi\r\n");
        Server(recorder, "421 4.4.2 profbox Error: timeout exceeded\r\n");

        Assert.Equal([E(null, 220, null, "hi"), E(null, 421, "4.4.2", "profbox Error: timeout exceeded")], recorder.Entries);
    }

    [Fact]
    public void Clear_keeps_commands_still_waiting_and_EntriesSince_takes_a_tail()
    {
        var recorder = new TranscriptRecorder();
        Server(recorder, "220 hi\r\n");
        Client(recorder, "NOOP\r\n");
        Server(recorder, "250 2.0.0 Ok\r\n");
        var mark = recorder.Count;
        Client(recorder, "RSET\r\n");

        Assert.Equal([new TranscriptEntry("RSET", null)], recorder.EntriesSince(mark));
        Assert.Empty(recorder.EntriesSince(99));

        recorder.Clear();
        Server(recorder, "250 2.0.0 Ok\r\n");

        Assert.Equal([E("RSET", 250, "2.0.0", "Ok")], recorder.Entries);
        Assert.Equal(E("RSET", 250, "2.0.0", "Ok"), recorder.LastEntry);

        recorder.Clear();
        Assert.Empty(recorder.Entries);
        Assert.Null(recorder.LastEntry);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Terminator_split_anywhere(int split)
    {
        var content = "a\r\n..\r\n.x\r\n\r\n.\r\n";
        var at = content.Length - 5 + split - 1;
        var recorder = new TranscriptRecorder();
        Client(recorder, "DATA\r\n");
        Server(recorder, "354 go\r\n");
        Client(recorder, content[..at]);
        Assert.Single(recorder.Entries);
        Client(recorder, content[at..] + "QUIT\r\n");

        Assert.Equal([E("DATA", 354, null, "go"), new TranscriptEntry(".", null), new TranscriptEntry("QUIT", null)], recorder.Entries);
    }

    // ---- Against a real MailKit SmtpClient and a scripted server on 127.0.0.1 ----

    static MimeKit.MimeMessage SecretMessage()
    {
        var message = new MimeKit.MimeMessage();
        message.From.Add(MimeKit.MailboxAddress.Parse("Zotrim <zotrim@domain.local>"));
        message.To.Add(MimeKit.MailboxAddress.Parse("student@domain.local"));
        message.Cc.Add(MimeKit.MailboxAddress.Parse("other@domain.local"));
        message.Subject = "Top secret plans";
        message.Body = new MimeKit.TextPart("plain")
        {
            Text = "secret line one\r\n.\r\n..hidden dotted line\r\n" + string.Concat(Enumerable.Repeat("secret filler line\r\n", 500)),
        };
        return message;
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
        Assert.Equal("4Y3Xq45ZKxz9sWN", QueueIdParser.Parse(recorder.FindLast(e => e.Command == ".")?.Reply?.Text));

        // The server really got the credentials, and the recorder holds none of them.
        Assert.NotEmpty(answers.Credentials);
        var recorded = string.Join("\n", entries.Select(e => $"{e.Command}|{e.Reply?.Text}"));
        foreach (var credential in answers.Credentials)
            Assert.DoesNotContain(credential, recorded, StringComparison.Ordinal);
        AssertNoSecrets(entries);

        // MailKit's write pattern, which the recorder must cope with.
        var clientChunks = spy.Chunks.Where(c => c.Client).Select(c => c.Text).ToList();
        if (pipelining)
            Assert.Contains(clientChunks, c => c.StartsWith("MAIL FROM:", StringComparison.Ordinal) && c.Contains("RCPT TO:<other@domain.local>\r\n", StringComparison.Ordinal));
        else
            Assert.DoesNotContain(clientChunks, c => c.StartsWith("MAIL FROM:", StringComparison.Ordinal) && c.Contains("RCPT", StringComparison.Ordinal));
        Assert.Contains("DATA\r\n", clientChunks);
        Assert.DoesNotContain(clientChunks, c => c.StartsWith("BDAT", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Real_MailKit_hang_up_after_the_dot_leaves_the_dot_without_reply()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = RawSmtpServer.Dialogue(new PostfixAnswers { HangUpAfterDot = true }.Answer, PostfixAnswers.Greeting, splitReplies: true);
        var recorder = new TranscriptRecorder();
        using var client = new MailKit.Net.Smtp.SmtpClient(recorder);
        client.LocalDomain = "mailapi.local";
        await client.ConnectAsync("127.0.0.1", server.Port, MailKit.Security.SecureSocketOptions.None, ct);

        await Assert.ThrowsAsync<MailKit.Net.Smtp.SmtpProtocolException>(() => client.SendAsync(SecretMessage(), ct));

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
        using var client = new MailKit.Net.Smtp.SmtpClient(recorder);
        client.LocalDomain = "mailapi.local";
        await client.ConnectAsync("127.0.0.1", server.Port, MailKit.Security.SecureSocketOptions.None, ct);

        // MailKit's default: the first refused RCPT throws and it sends RSET.
        await Assert.ThrowsAsync<MailKit.Net.Smtp.SmtpCommandException>(() => client.SendAsync(SecretMessage(), ct));
        await client.DisconnectAsync(true, ct);

        Assert.Contains(E("RCPT TO:<other@domain.local>", 550, "5.1.1", "<other@domain.local>: Recipient address rejected: User unknown"), recorder.Entries);
        Assert.Equal(answers.Commands, recorder.Entries.Skip(1).Select(e => e.Command));
        Assert.All(recorder.Entries, e => Assert.NotNull(e.Reply));
    }
}
