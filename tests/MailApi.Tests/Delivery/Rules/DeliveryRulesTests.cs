using MailApi.Delivery;
using MailApi.Delivery.Rules;
using MailApi.Delivery.Smtp;
using MailApi.Storage;

namespace MailApi.Tests.Delivery.Rules;

/// <summary>Reply classification: what each kind of transcript does to the message and its recipients.</summary>
public sealed class DeliveryRulesTests
{
    private static readonly DateTimeOffset Created = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
    private static readonly DeliveryOptions Options = new() { RetryDelays = [TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5)], MaxAge = TimeSpan.FromHours(1) };

    private static StoredMessage Message(params string[] recipients) => new()
    {
        Id = Guid.NewGuid(),
        Owner = "alpha",
        Status = MessageStatus.Sending,
        CreatedAt = Created,
        UpdatedAt = Created,
        Content = new MessageContent { From = "zotrim@domain.local", To = recipients, Subject = "s", Text = "t" },
        MessageId = "<x@domain.local>",
        Sender = "zotrim@domain.local",
        Recipients = recipients.Select(r => new RecipientState(r, RecipientStatus.Pending, null)).ToList(),
    };

    private static TranscriptEntry E(string? command, int code, string? enhanced, string text) => new(command, new SmtpReply(code, enhanced, text));

    private static readonly TranscriptEntry[] Opening =
    [
        E(null, 220, null, "relay.domain.local ESMTP Postfix"),
        E("EHLO mailapi.test", 250, null, "relay.domain.local\nPIPELINING"),
        E("MAIL FROM:<zotrim@domain.local>", 250, "2.1.0", "Ok"),
    ];

    private static AttemptResult Attempt(params TranscriptEntry[] rest) => new("relay:25", [.. Opening, .. rest], null);

    private static readonly TranscriptEntry Data = E("DATA", 354, null, "End data with <CR><LF>.<CR><LF>");
    private static readonly TranscriptEntry Queued = E(".", 250, "2.0.0", "Ok: queued as 092D0CD01");
    private static readonly TranscriptEntry Quit = E("QUIT", 221, "2.0.0", "Bye");

    private static StoredMessage Apply(StoredMessage message, AttemptResult attempt, TimeSpan? after = null) =>
        Apply(message, [attempt], after);

    private static StoredMessage Apply(StoredMessage message, IReadOnlyList<AttemptResult> attempts, TimeSpan? after = null) =>
        DeliveryRules.Apply(message, attempts.Select(Reported).ToList(), Options, Created, Created + (after ?? TimeSpan.FromSeconds(1)));

    /// <summary>The attempt with the RCPT replies MailKit reports for its transcript (<c>RCPT TO:&lt;address&gt; …</c>).</summary>
    private static AttemptResult Reported(AttemptResult attempt) => attempt with
    {
        RecipientReplies = attempt.Transcript
            .Where(e => e.Command?.StartsWith("RCPT TO:<", StringComparison.Ordinal) == true && e.Reply is not null)
            .GroupBy(e => e.Command![9..e.Command!.IndexOf('>')], StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.Last().Reply!, StringComparer.OrdinalIgnoreCase),
    };

    [Fact]
    public void All_recipients_accepted_is_sent_with_queue_id()
    {
        var result = Apply(Message("a@domain.local", "b@domain.local"), Attempt(
            E("RCPT TO:<a@domain.local>", 250, "2.1.5", "Ok"), E("RCPT TO:<b@domain.local>", 250, "2.1.5", "Ok"), Data, Queued, Quit));

        Assert.Equal(MessageStatus.Sent, result.Status);
        Assert.Equal("092D0CD01", result.QueueId);
        Assert.Equal(250, result.FinalReply!.Code);
        Assert.NotNull(result.SentAt);
        Assert.Null(result.NextAttemptAt);
        Assert.All(result.Recipients, r => Assert.Equal(RecipientStatus.Accepted, r.Status));
        Assert.Equal("2.1.5", result.Recipients[0].Reply!.EnhancedCode);
        Assert.Equal(MessageStatus.Sent, Assert.Single(result.Attempts).Outcome);
    }

    [Fact]
    public void One_recipient_rejected_is_partially_sent()
    {
        var result = Apply(Message("a@domain.local", "gone@domain.local"), Attempt(
            E("RCPT TO:<a@domain.local>", 250, "2.1.5", "Ok"),
            E("RCPT TO:<gone@domain.local>", 550, "5.1.1", "<gone@domain.local>: Recipient address rejected: User unknown"),
            Data, Queued, Quit));

        Assert.Equal(MessageStatus.PartiallySent, result.Status);
        Assert.Equal(RecipientStatus.Rejected, result.Recipients[1].Status);
        Assert.Equal("5.1.1", result.Recipients[1].Reply!.EnhancedCode);
    }

    [Fact]
    public void Every_recipient_rejected_is_failed_without_retry()
    {
        var result = Apply(Message("gone@domain.local"), Attempt(
            E("RCPT TO:<gone@domain.local>", 550, "5.1.1", "User unknown"), E("RSET", 250, "2.0.0", "Ok"), Quit));

        Assert.Equal(MessageStatus.Failed, result.Status);
        Assert.Null(result.NextAttemptAt);
        Assert.Null(result.QueueId);
    }

    [Fact]
    public void A_deferred_recipient_is_retried_alone_and_then_sent()
    {
        var first = Apply(Message("a@domain.local", "busy@domain.local"), Attempt(
            E("RCPT TO:<a@domain.local>", 250, "2.1.5", "Ok"),
            E("RCPT TO:<busy@domain.local>", 450, "4.2.1", "Mailbox busy"),
            Data, Queued, Quit));

        Assert.Equal(MessageStatus.Deferred, first.Status);
        Assert.Equal(Created + TimeSpan.FromSeconds(1) + TimeSpan.FromMinutes(1), first.NextAttemptAt);
        Assert.Equal(RecipientStatus.Accepted, first.Recipients[0].Status);
        Assert.Equal(RecipientStatus.Deferred, first.Recipients[1].Status);

        var second = Apply(first with { Status = MessageStatus.Sending }, Attempt(
            E("RCPT TO:<busy@domain.local>", 250, "2.1.5", "Ok"), Data, E(".", 250, "2.0.0", "Ok: queued as 1A2B3C"), Quit), TimeSpan.FromMinutes(2));

        Assert.Equal(MessageStatus.Sent, second.Status);
        Assert.Equal("1A2B3C", second.QueueId);
        Assert.Equal(2, second.Attempts.Count);
        Assert.False(second.PossibleDuplicate);
    }

    [Fact]
    public void Connection_refused_is_deferred_and_recipients_stay_pending()
    {
        var result = Apply(Message("a@domain.local"), new AttemptResult("relay:25", [], "Could not connect to relay:25: ConnectionRefused."));

        Assert.Equal(MessageStatus.Deferred, result.Status);
        Assert.Equal(RecipientStatus.Pending, result.Recipients[0].Status);
        Assert.Equal("Could not connect to relay:25: ConnectionRefused.", result.Attempts[0].Error);
    }

    [Fact]
    public void Relays_tried_before_the_last_are_attempts_that_failed_over_numbered_in_order_and_only_the_last_counts_as_a_try()
    {
        var refused = new AttemptResult("primary", [], "Could not connect to primary (127.0.0.1:25): ConnectionRefused.") { RelayFault = true };
        var greeting = new AttemptResult("backup", [E(null, 421, "4.3.2", "Service not available")], "backup refused the command") { RelayFault = true };
        var message = Message("a@domain.local");

        // Two relays failed in each of two runs: four attempts, yet only two of the schedule's two retries used.
        var first = Apply(message, [refused, greeting]);
        var second = DeliveryRules.Apply(first with { Status = MessageStatus.Sending }, [refused, greeting], Options, Created, Created + TimeSpan.FromMinutes(2));
        var third = DeliveryRules.Apply(second with { Status = MessageStatus.Sending }, [refused, Reported(Attempt(E("RCPT TO:<a@domain.local>", 250, "2.1.5", "Ok"), Data, Queued))],
            Options, Created, Created + TimeSpan.FromMinutes(8));

        Assert.Equal(MessageStatus.Deferred, first.Status);
        Assert.Equal([1, 2], first.Attempts.Select(a => a.Number));
        Assert.Equal([true, false], first.Attempts.Select(a => a.FailedOver));
        Assert.All(first.Attempts, a => Assert.Equal(MessageStatus.Deferred, a.Outcome));
        Assert.Equal(["primary", "backup"], first.Attempts.Select(a => a.Upstream));
        Assert.Equal(Created + TimeSpan.FromSeconds(1) + Options.RetryDelays[0], first.NextAttemptAt);
        Assert.Equal(MessageStatus.Deferred, second.Status);
        Assert.Equal(Created + TimeSpan.FromMinutes(2) + Options.RetryDelays[1], second.NextAttemptAt);
        Assert.Equal(MessageStatus.Sent, third.Status);
        Assert.Equal([true, false, true, false, true, false], third.Attempts.Select(a => a.FailedOver));
        Assert.Equal("relay:25", third.Upstream);
    }

    [Theory]
    [InlineData(null, 421, "4.3.2", "Service not available, closing transmission channel")]
    [InlineData("EHLO mailapi.test", 554, "5.7.1", "Access denied")]
    [InlineData("AUTH LOGIN ***", 535, "5.7.8", "Error: authentication failed")]
    [InlineData("AUTH PLAIN ***", 454, "4.7.0", "Temporary authentication failure")]
    [InlineData("MAIL FROM:<zotrim@domain.local>", 451, "4.3.0", "Temporary lookup failure")]
    [InlineData(".", 451, "4.3.0", "Error: queue file write error")]
    [InlineData("DATA", 421, "4.4.2", "Timeout exceeded")]
    public void Transient_and_relay_configuration_failures_are_deferred(string? command, int code, string enhanced, string text)
    {
        var result = Apply(Message("a@domain.local"), new AttemptResult("relay:25", [E(command, code, enhanced, text)], "ended"));

        Assert.Equal(MessageStatus.Deferred, result.Status);
        Assert.NotNull(result.NextAttemptAt);
    }

    [Theory]
    [InlineData("MAIL FROM:<zotrim@domain.local>", 553, "5.7.1", "Sender address rejected: not owned by user")]
    [InlineData("DATA", 554, "5.5.1", "Error: no valid recipients")]
    [InlineData(".", 554, "5.7.1", "Message rejected as spam")]
    public void Permanent_rejection_of_the_message_fails_it_without_retry(string command, int code, string enhanced, string text)
    {
        var rcpt = E("RCPT TO:<a@domain.local>", 250, "2.1.5", "Ok");
        var transcript = command.StartsWith("MAIL") ? new[] { E(command, code, enhanced, text) } : [rcpt, E(command, code, enhanced, text)];
        var result = Apply(Message("a@domain.local"),
            new AttemptResult("relay:25", [Opening[0], Opening[1], .. command.StartsWith("MAIL") ? transcript : [Opening[2], .. transcript]], "refused"));

        Assert.Equal(MessageStatus.Failed, result.Status);
        Assert.Null(result.NextAttemptAt);
        Assert.Equal(RecipientStatus.Rejected, result.Recipients[0].Status);
        Assert.Equal(code, result.Recipients[0].Reply!.Code);
    }

    [Fact]
    public void After_the_last_retry_a_deferred_message_fails()
    {
        var refused = new AttemptResult("relay:25", [], "refused");
        var message = Message("a@domain.local");
        for (var i = 0; i < Options.RetryDelays.Length; i++)
        {
            message = Apply(message, refused) with { Status = MessageStatus.Sending };
        }
        var last = Apply(message, refused);

        Assert.Equal(MessageStatus.Failed, last.Status);
        Assert.Equal(3, last.Attempts.Count);
        Assert.Equal(RecipientStatus.Rejected, last.Recipients[0].Status);
        Assert.Null(last.NextAttemptAt);
    }

    [Fact]
    public void Past_max_age_a_deferred_message_fails_and_keeps_what_was_accepted()
    {
        var result = Apply(Message("a@domain.local", "busy@domain.local"), Attempt(
            E("RCPT TO:<a@domain.local>", 250, "2.1.5", "Ok"), E("RCPT TO:<busy@domain.local>", 450, "4.2.1", "Busy"), Data, Queued, Quit),
            after: TimeSpan.FromHours(2));

        Assert.Equal(MessageStatus.PartiallySent, result.Status);
        Assert.Contains("MaxAge", result.Attempts[0].Error);
        Assert.Equal(RecipientStatus.Rejected, result.Recipients[1].Status);
        Assert.Equal(450, result.Recipients[1].Reply!.Code);
    }

    [Fact]
    public void Giving_up_keeps_the_error_that_ended_the_last_attempt()
    {
        var result = Apply(Message("busy@domain.local"), new AttemptResult("relay:25",
            [.. Opening, E("RCPT TO:<busy@domain.local>", 450, "4.2.1", "Busy"), E("RSET", 250, "2.0.0", "Ok")],
            "No recipient was accepted: relay:25 answered 450 4.2.1 Busy to every RCPT TO."), after: TimeSpan.FromHours(2));

        Assert.Equal(MessageStatus.Failed, result.Status);
        Assert.Equal("No recipient was accepted: relay:25 answered 450 4.2.1 Busy to every RCPT TO. "
            + "Gave up: the message is older than Delivery:MaxAge (01:00:00).", result.Attempts[0].Error);
    }

    [Fact]
    public void Lost_connection_after_the_dot_is_retried_and_flagged_possible_duplicate()
    {
        var first = Apply(Message("a@domain.local"), new AttemptResult("relay:25",
            [.. Opening, E("RCPT TO:<a@domain.local>", 250, "2.1.5", "Ok"), Data, new TranscriptEntry(".", null)], "closed"));

        Assert.Equal(MessageStatus.Deferred, first.Status);
        Assert.False(first.PossibleDuplicate);

        var second = Apply(first with { Status = MessageStatus.Sending },
            Attempt(E("RCPT TO:<a@domain.local>", 250, "2.1.5", "Ok"), Data, Queued, Quit));

        Assert.Equal(MessageStatus.Sent, second.Status);
        Assert.True(second.PossibleDuplicate);
    }

    [Fact]
    public void A_message_the_relay_can_never_take_fails_at_once()
    {
        var result = Apply(Message("a@domain.local"), new AttemptResult("relay:25", [], "The message is 5000 bytes; relay:25 takes at most 1000 (SIZE).")
        {
            Undeliverable = true,
        });

        Assert.Equal(MessageStatus.Failed, result.Status);
        Assert.Null(result.NextAttemptAt);
        Assert.Equal(RecipientStatus.Rejected, result.Recipients[0].Status);
        Assert.Contains("SIZE", result.Attempts[0].Error);
    }
}
