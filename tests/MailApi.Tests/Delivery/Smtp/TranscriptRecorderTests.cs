using MailApi.Delivery.Smtp;
using static MailApi.Tests.Delivery.Smtp.RecorderFeed;

namespace MailApi.Tests.Delivery.Smtp;

/// <summary>The recorder on canned bytes: pairing, line splitting, the data phase, connections and transactions.</summary>
public sealed class TranscriptRecorderTests
{
    private const string EhloReply = "250-profbox.domain.local\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n";
    private const string EhloText = "profbox.domain.local\nPIPELINING\nSTARTTLS\nAUTH PLAIN LOGIN";

    // A whole session as (isClient, chunk) steps, with the chunking MailKit produces or worse.
    private static IEnumerable<(bool Client, string Chunk)> FullSession()
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

    private static readonly TranscriptEntry[] FullSessionEntries =
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

    [Fact]
    public void Full_session_entry_by_entry()
    {
        var recorder = new TranscriptRecorder();
        recorder.LogConnect(Upstream);
        foreach (var (client, chunk) in FullSession())
        {
            if (client)
            {
                Client(recorder, chunk);
            }
            else
            {
                Server(recorder, chunk);
            }
        }

        var entries = recorder.Entries;
        Assert.Equal(FullSessionEntries.Length, entries.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            Assert.Equal(FullSessionEntries[i], entries[i]);
        }
        Assert.Equal(E("QUIT", 221, "2.0.0", "Bye"), recorder.LastEntry);
        AssertNoSecrets(entries);
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
                if (client)
                {
                    Client(recorder, piece);
                }
                else
                {
                    Server(recorder, piece);
                }
            }
        }

        Assert.Equal(FullSessionEntries, recorder.Entries);
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

        // The retry connects again: its greeting is not the dot's reply.
        recorder.LogConnect(Upstream);
        Server(recorder, "220 again\r\n");

        Assert.Equal(
            [E(null, 220, null, "hi"), E("DATA", 354, null, "go ahead"), new TranscriptEntry(".", null), E(null, 220, null, "again")],
            recorder.Entries);
        AssertNoSecrets(recorder.Entries);
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

        // The dot took the early reply and waits for nothing: the next reply is RSET's.
        Server(recorder, "250 2.0.0 Ok\r\n");
        Assert.Equal(E("RSET", 250, "2.0.0", "Ok"), recorder.LastEntry);
        Assert.Equal(3, recorder.Entries.Count);
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
    public void Clear_keeps_the_commands_still_waiting_for_their_reply()
    {
        // A reused connection: the next transaction's transcript starts after Clear, and a reply still owed to a
        // command of the last one finds that command.
        var recorder = new TranscriptRecorder();
        Server(recorder, "220 hi\r\n");
        Client(recorder, "NOOP\r\n");
        Server(recorder, "250 2.0.0 Ok\r\n");
        Client(recorder, "RSET\r\n");

        recorder.Clear();
        Assert.Equal([new TranscriptEntry("RSET", null)], recorder.Entries);
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

    [Fact]
    public void A_line_longer_than_any_smtp_line_is_cut()
    {
        var recorder = new TranscriptRecorder();
        var text = new string('x', LineSplitter.MaxLineBytes + 100);
        Server(recorder, "250 " + text[..1000]);
        Server(recorder, text[1000..] + "\r\n");

        var reply = Assert.Single(recorder.Entries).Reply!;
        Assert.Equal(250, reply.Code);
        Assert.Equal(LineSplitter.MaxLineBytes - 4, reply.Text.Length);
    }
}
