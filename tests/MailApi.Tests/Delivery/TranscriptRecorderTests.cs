using System.Text;
using MailApi.Delivery;

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
}
