using MailApi.Tests.Infrastructure;
using static MailApi.Tests.Delivery.RelayDialogue;
using static MailApi.Tests.Delivery.Smtp.FaultMatrix;

namespace MailApi.Tests.Delivery.Smtp;

/// <summary>
/// Transient faults played by Postfix's smtp-sink: the first attempt meets the fault and is deferred with the
/// relay's reply (or its silence) recorded; the faulty sink is then replaced by a healthy one on the same port, and
/// the retry delivers. Counts: how many copies of the content each sink saw (a dump per transaction that reached
/// the final dot, whatever the answer). Nothing is lost; a second copy exists only when the relay never answered the
/// final dot (at-least-once, flagged <c>possibleDuplicate</c>).
/// </summary>
[Trait("Category", FaultMatrix.Category)]
public sealed class SmtpSinkFaultTests
{
    private sealed record SinkRun(Recovery Run, int FaultySaw, IReadOnlyList<SinkTransaction> HealthySaw);

    private static async Task<SinkRun> FaultThenHealthySinkAsync(string[] flags, IDictionary<string, string?>? changes = null)
    {
        await using var faulty = await SmtpSink.StartAsync(0, flags);
        SmtpSink? healthy = null;
        var faultySaw = -1;
        try
        {
            var run = await FaultThenHealthyAsync(
                faulty.Port,
                async () =>
                {
                    faultySaw = faulty.Transactions.Count;
                    await faulty.DisposeAsync();
                },
                async () => healthy = await SmtpSink.StartAsync(faulty.Port),
                changes);
            return new SinkRun(run, faultySaw, healthy!.Transactions);
        }
        finally
        {
            if (healthy is not null)
            {
                await healthy.DisposeAsync();
            }
        }
    }

    private static void AssertDeliveredOnce(SinkRun run, int faultySaw, bool possibleDuplicate = false)
    {
        AssertDeferredThenSent(run.Run, possibleDuplicate);
        Assert.Equal(faultySaw, run.FaultySaw);
        Assert.Equal(["student@domain.local"], Assert.Single(run.HealthySaw).Recipients);
        Assert.Contains($"Message-ID: {run.Run.Final["messageId"]}", Assert.Single(run.HealthySaw).Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    // 421 and hang up (-Q): at the greeting, and mid-session after each command.
    [InlineData("-Q", "CONNECT", null, 421, 0)]
    [InlineData("-Q", "EHLO", "EHLO", 421, 0)]
    [InlineData("-Q", "MAIL", "MAIL FROM:", 421, 0)]
    [InlineData("-Q", "RCPT", "RCPT TO:", 421, 0)]
    [InlineData("-Q", "DATA", "DATA", 421, 0)]
    [InlineData("-Q", ".", ".", 421, 1)] // the sink saw the content, and said it did not take it
    // Hang up without a reply (-q) at each stage before the final dot.
    [InlineData("-q", "EHLO", "EHLO", 0, 0)]
    [InlineData("-q", "MAIL", "MAIL FROM:", 0, 0)]
    [InlineData("-q", "RCPT", "RCPT TO:", 0, 0)]
    [InlineData("-q", "DATA", "DATA", 0, 0)]
    // 4yz (-r, "450 4.3.0 Error: command failed") on MAIL, RCPT, DATA and the final dot.
    [InlineData("-r", "MAIL", "MAIL FROM:", 450, 0)]
    [InlineData("-r", "RCPT", "RCPT TO:", 450, 0)]
    [InlineData("-r", "DATA", "DATA", 450, 0)]
    [InlineData("-r", ".", ".", 450, 1)] // seen and refused: not taken, so sending again is no duplicate
    public async Task Transient_fault_is_deferred_with_the_reply_recorded_then_delivered_once(
        string flag, string command, string? recorded, int code, int faultySaw)
    {
        var run = await FaultThenHealthySinkAsync([flag, command]);

        AssertDeliveredOnce(run, faultySaw);
        var transcript = Transcript(run.Run.First);
        Assert.Equal(code, CodeOf(transcript, recorded));
        if (code != 0)
        {
            var reply = Find(transcript, recorded)!["reply"]!;
            Assert.Equal(code == 421 ? "4.0.0" : "4.3.0", (string?)reply["enhancedCode"]);
        }
        // After a 421 or a hang-up nothing got a reply; after a 4yz only RSET and QUIT followed, and were answered.
        var at = transcript.IndexOf(Find(transcript, recorded));
        var after = Steps(new System.Text.Json.Nodes.JsonArray([.. transcript.Skip(at + 1).Select(e => e!.DeepClone())]));
        if (flag == "-r")
        {
            // smtp-sink's RSET reply is "250 2.1.0 Ok"; the QUIT is in this transcript unless the connection was kept
            // for reuse (where Smtp:Pool exists, it closes the connection itself).
            Assert.Equal(("RSET", 250, "2.1.0"), after[0]);
            Assert.True(after.Count == 1 || (after.Count == 2 && after[1] == ("QUIT", 221, null)), string.Join(", ", after));
        }
        else
        {
            Assert.All(after, s => Assert.Equal(0, s.Code));
        }
        Assert.NotNull(Error(run.Run.First));
        var steps = Steps(Transcript(run.Run.Final, Attempts(run.Run.Final).Count - 1));
        Assert.Contains((".", 250, "2.0.0"), steps);
    }

    [Fact]
    public async Task Hang_up_at_connect_without_a_greeting_is_deferred_then_delivered_once()
    {
        var run = await FaultThenHealthySinkAsync(["-q", "CONNECT"]);

        AssertDeliveredOnce(run, 0);
        Assert.Empty(Transcript(run.Run.First));
        Assert.Contains("closed the connection", Error(run.Run.First));
    }

    [Fact]
    public async Task Hang_up_after_the_final_dot_is_retried_and_flagged_possible_duplicate()
    {
        var run = await FaultThenHealthySinkAsync(["-q", "."]);

        // At-least-once: the first sink has a copy, the retry made a second one, and the resource says so.
        AssertDeliveredOnce(run, faultySaw: 1, possibleDuplicate: true);
        var transcript = Transcript(run.Run.First);
        Assert.Equal(0, CodeOf(transcript, "."));
        Assert.Equal(354, CodeOf(transcript, "DATA"));
        Assert.Equal("deferred", (string?)Recipient(run.Run.First, "student@domain.local")["status"]);
    }

    [Fact]
    public async Task Final_reply_slower_than_the_timeout_is_deferred_unconfirmed_and_flagged_possible_duplicate()
    {
        // The sink answers the final dot after 6 s; Smtp:Timeout is 2 s.
        var run = await FaultThenHealthySinkAsync(["-W", ".:6"]);

        AssertDeliveredOnce(run, faultySaw: 1, possibleDuplicate: true);
        var transcript = Transcript(run.Run.First);
        Assert.Equal(0, CodeOf(transcript, ".")); // sent, unanswered: the relay may have it
        Assert.Contains("Smtp:Timeout", Error(run.Run.First));
    }

    [Fact]
    public async Task Data_reply_slower_than_the_timeout_is_deferred_and_not_a_duplicate()
    {
        var run = await FaultThenHealthySinkAsync(["-w", "6"]);

        AssertDeliveredOnce(run, faultySaw: 0);
        var transcript = Transcript(run.Run.First);
        Assert.Equal(0, CodeOf(transcript, "DATA"));
        Assert.Null(Find(transcript, "."));
        Assert.Contains("Smtp:Timeout", Error(run.Run.First));
    }

    [Fact]
    public async Task Connection_refused_then_the_relay_comes_up_delivers_once()
    {
        var port = FreePort.Get();
        SmtpSink? sink = null;
        try
        {
            var run = await FaultThenHealthyAsync(port, () => Task.CompletedTask, async () => sink = await SmtpSink.StartAsync(port));

            AssertDeferredThenSent(run);
            Assert.Empty(Transcript(run.First));
            Assert.Contains("ConnectionRefused", Error(run.First));
            Assert.Single(sink!.Transactions);
        }
        finally
        {
            if (sink is not null)
            {
                await sink.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Starttls_required_but_not_offered_defers_without_sending_then_a_tls_relay_takes_it()
    {
        await using var sink = await SmtpSink.StartAsync(); // smtp-sink offers no STARTTLS
        TestSmtpServer? tls = null;
        var sinkSaw = -1;
        try
        {
            var run = await FaultThenHealthyAsync(
                sink.Port,
                async () =>
                {
                    sinkSaw = sink.Transactions.Count;
                    await sink.DisposeAsync();
                },
                async () => tls = await TestSmtpServer.StartAsync(new TestSmtpServerOptions { Port = sink.Port, StartTls = true }),
                new Dictionary<string, string?> { ["Smtp:Security"] = "StartTls", ["Smtp:AcceptAnyCertificate"] = "true" });

            AssertDeferredThenSent(run);
            Assert.Contains("STARTTLS", Error(run.First));
            Assert.Equal([(null, 220, null), ("EHLO mailapi.test", 250, null)], Steps(Transcript(run.First)));
            Assert.Equal(0, sinkSaw);
            Assert.True(Assert.Single(tls!.Messages).Secure);
        }
        finally
        {
            if (tls is not null)
            {
                await tls.DisposeAsync();
            }
        }
    }
}
