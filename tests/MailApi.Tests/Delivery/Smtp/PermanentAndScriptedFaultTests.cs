using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;
using static MailApi.Tests.Delivery.RelayDialogue;
using static MailApi.Tests.Delivery.Smtp.FaultMatrix;

namespace MailApi.Tests.Delivery.Smtp;

/// <summary>
/// The rest of the fault matrix: 5yz from smtp-sink on each command (failed at once, never retried), an abort after
/// DATA, and the faults easier to script in-process: 452 too many recipients, a broken TLS handshake, and AUTH offered
/// with no mechanism we support.
/// </summary>
[Trait("Category", FaultMatrix.Category)]
public sealed class PermanentAndScriptedFaultTests
{
    [Theory]
    // 5yz (-f, "500 5.3.0 Error: command failed") on MAIL, RCPT, DATA and the final dot.
    [InlineData("MAIL", "MAIL FROM:", 0)]
    [InlineData("RCPT", "RCPT TO:", 0)]
    [InlineData("DATA", "DATA", 0)]
    [InlineData(".", ".", 1)] // the sink saw the content and refused it
    public async Task Permanent_fault_fails_at_once_with_the_reply_recorded_and_is_never_retried(string command, string recorded, int sinkSaw)
    {
        await using var sink = await SmtpSink.StartAsync(0, "-f", command);
        using var factory = new MailApiFactory(sink.Port, Settings(new Dictionary<string, string?> { ["Delivery:RetryDelays:0"] = "00:00:01" }));

        var (client, id) = await SendAsync(factory, Bodies.Valid("student@domain.local", "teacher@domain.local"));
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, AfterAnAttempt);
        message = await AssertNoFurtherAttemptAsync(factory, client, id, 1);

        Assert.Equal("failed", (string?)message["status"]);
        Assert.Null(message["nextAttemptAt"]);
        Assert.Null((string?)message["queueId"]);
        Assert.False((bool)message["possibleDuplicate"]!);
        var transcript = Transcript(message);
        var reply = Find(transcript, recorded)!["reply"]!;
        Assert.Equal(500, (int)reply["code"]!);
        Assert.Equal("5.3.0", (string?)reply["enhancedCode"]);
        Assert.All(message["recipients"]!.AsArray(), r =>
        {
            Assert.Equal("rejected", (string?)r!["status"]);
            Assert.Equal(500, (int)r["reply"]!["code"]!);
        });
        if (command == ".")
        {
            Assert.Equal(500, (int)message["finalReply"]!["code"]!);
        }
        Assert.Equal(sinkSaw, sink.Transactions.Count);
    }

    [Fact]
    public async Task Abort_after_data_with_550_before_the_final_dot_fails_without_retry()
    {
        // smtp-sink -A 0: right after its 354 it answers 550 and reads nothing more.
        await using var sink = await SmtpSink.StartAsync(0, "-A", "0");
        using var factory = new MailApiFactory(sink.Port, Settings(new Dictionary<string, string?> { ["Delivery:RetryDelays:0"] = "00:00:01" }));

        var (client, id) = await SendAsync(factory, Bodies.Valid());
        await MailApiFactory.WaitForStatusAsync(client, id, Patience, AfterAnAttempt);
        var message = await AssertNoFurtherAttemptAsync(factory, client, id, 1);

        Assert.Equal("failed", (string?)message["status"]);
        var steps = Steps(Transcript(message));
        Assert.Contains(("DATA", 354, null), steps);
        Assert.Contains((".", 550, null), steps);
        Assert.Equal("rejected", (string?)Recipient(message, "student@domain.local")["status"]);
        Assert.Empty(sink.Transactions);
    }

    [Fact]
    public async Task Too_many_recipients_452_sends_the_rest_in_further_transactions_at_once_each_recipient_once()
    {
        // A relay that takes at most 2 recipients per transaction, as Postfix's smtpd_recipient_limit does.
        var transactions = new List<List<string>>();
        var current = new List<string>();
        await using var relay = RawSmtpServer.Dialogue(line =>
        {
            lock (transactions)
            {
                if (line.StartsWith("MAIL FROM:", StringComparison.OrdinalIgnoreCase))
                {
                    current = [];
                }
                else if (line.StartsWith("RCPT TO:", StringComparison.OrdinalIgnoreCase))
                {
                    if (current.Count == 2)
                    {
                        return "452 4.5.3 Error: too many recipients";
                    }
                    current.Add(line[9..line.IndexOf('>', StringComparison.Ordinal)]);
                }
                else if (line == ".")
                {
                    transactions.Add(current);
                }
            }
            return RawSmtpServer.DefaultAnswer(line);
        });
        // A retry would wait an hour: only further transactions at once deliver within the test's patience.
        using var factory = new MailApiFactory(relay.Port, Settings(new Dictionary<string, string?> { ["Delivery:RetryDelays:0"] = "01:00:00" }));
        string[] to = ["a1@domain.local", "a2@domain.local", "a3@domain.local", "a4@domain.local", "a5@domain.local"];

        var (client, id) = await SendAsync(factory, Bodies.Valid(to));
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, "sent", "partially_sent", "failed");

        Assert.Equal("sent", (string?)message["status"]);
        Assert.Equal(3, Attempts(message).Count);
        Assert.Equal([["a1@domain.local", "a2@domain.local"], ["a3@domain.local", "a4@domain.local"], ["a5@domain.local"]], transactions);
        Assert.Equal(to, transactions.SelectMany(t => t).Order());
        var first = Steps(Transcript(message, 0));
        Assert.Contains(("RCPT TO:<a3@domain.local>", 452, "4.5.3"), first);
        Assert.Contains((".", 250, "2.0.0"), first);
        Assert.Equal(["sending", "sending", "sent"], Attempts(message).Select(a => (string?)a!["outcome"]));
        Assert.All(message["recipients"]!.AsArray(), r => Assert.Equal("accepted", (string?)r!["status"]));
        Assert.False((bool)message["possibleDuplicate"]!);
    }

    [Fact]
    public async Task Tls_handshake_failure_defers_without_sending_then_a_working_relay_takes_it()
    {
        var raw = RawSmtpServer.BrokenTls();
        TestSmtpServer? tls = null;
        try
        {
            var run = await FaultThenHealthyAsync(
                raw.Port,
                () => raw.DisposeAsync().AsTask(),
                async () => tls = await TestSmtpServer.StartAsync(new TestSmtpServerOptions { Port = raw.Port, StartTls = true }),
                new Dictionary<string, string?> { ["Smtp:Security"] = "StartTls", ["Smtp:AcceptAnyCertificate"] = "true" });

            AssertDeferredThenSent(run);
            Assert.Contains("TLS handshake", Error(run.First));
            // The plain text that came where the ServerHello should have is recorded as an unsolicited line (code 0)
            // when MailKit read it with the 220; when it came apart, the TLS layer swallowed it unrecorded.
            var steps = Steps(Transcript(run.First));
            Assert.Equal([(null, 220, null), ("EHLO mailapi.test", 250, null), ("STARTTLS", 220, "2.0.0")], steps.Take(3));
            Assert.All(steps.Skip(3), s => Assert.Equal((null, 0, null), s));
            Assert.DoesNotContain(raw.ReceivedLines, l => l.StartsWith("MAIL", StringComparison.OrdinalIgnoreCase));
            Assert.True(Assert.Single(tls!.Messages).Secure);
        }
        finally
        {
            await raw.DisposeAsync();
            if (tls is not null)
            {
                await tls.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Auth_offered_without_a_supported_mechanism_defers_without_sending_then_a_relay_with_login_takes_it()
    {
        var raw = RawSmtpServer.Dialogue(line => line.StartsWith("EHLO", StringComparison.OrdinalIgnoreCase)
            ? "250-raw.localhost\r\n250-AUTH XOAUTH2 OAUTHBEARER\r\n250 8BITMIME"
            : RawSmtpServer.DefaultAnswer(line));
        TestSmtpServer? relay = null;
        try
        {
            var run = await FaultThenHealthyAsync(
                raw.Port,
                () => raw.DisposeAsync().AsTask(),
                async () => relay = await TestSmtpServer.StartAsync(new TestSmtpServerOptions { Port = raw.Port, User = "mailer", Password = "pw", RequireAuth = true }),
                new Dictionary<string, string?> { ["Smtp:Username"] = "mailer", ["Smtp:Password"] = "pw" });

            AssertDeferredThenSent(run);
            Assert.Contains("offers AUTH XOAUTH2 OAUTHBEARER", Error(run.First));
            Assert.DoesNotContain(Steps(Transcript(run.First)), s => s.Command?.StartsWith("MAIL", StringComparison.Ordinal) == true);
            Assert.DoesNotContain(raw.ReceivedLines, l => l.StartsWith("MAIL", StringComparison.OrdinalIgnoreCase));
            Assert.Equal("mailer", Assert.Single(relay!.Messages).AuthenticatedUser);
        }
        finally
        {
            await raw.DisposeAsync();
            if (relay is not null)
            {
                await relay.DisposeAsync();
            }
        }
    }
}
