using System.Text;
using MailApi.Bounces;
using MimeKit;

namespace MailApi.Tests.Bounces;

/// <summary>
/// <see cref="BounceReports"/> over the corpus in Fixtures/ (real Postfix and Exim DSNs produced here, and the shapes of
/// Microsoft 365, Gmail, qmail, ARF and auto-replies from public sources: see Fixtures/README.md), and over hostile mail.
/// </summary>
public class BounceReportsTests
{
    private static ParsedReport ParseFixture(string name)
    {
        using var stream = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "Bounces", "Fixtures", name));
        return BounceReports.Parse(stream, TestContext.Current.CancellationToken);
    }

    private static ParsedReport ParseText(string text)
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(text));
        return BounceReports.Parse(stream, TestContext.Current.CancellationToken);
    }

    /// <summary>A well-formed report of <paramref name="kind"/> (no reason) and its per-message values.</summary>
    private static void AssertReport(ParsedReport report, ReportKind kind, string? reportingMta, string? envelopeId, string? queueId,
        string? returnedMessageId)
    {
        Assert.Equal((kind, (string?)null, reportingMta, envelopeId, queueId, returnedMessageId),
            (report.Kind, report.Reason, report.ReportingMta, report.EnvelopeId, report.QueueId, report.ReturnedMessageId));
    }

    private static void AssertNotAReport(ParsedReport report, string reason)
    {
        Assert.Equal(ReportKind.Other, report.Kind);
        Assert.False(report.FailedRecipientsOnly);
        Assert.Empty(report.Recipients);
        Assert.Equal(reason, report.Reason);
    }

    /// <summary>Mail that could not be read as a report: kind other, a reason, nothing named.</summary>
    private static void AssertUnreadable(ParsedReport report)
    {
        Assert.Equal(ReportKind.Other, report.Kind);
        Assert.False(string.IsNullOrWhiteSpace(report.Reason));
        Assert.Empty(report.Recipients);
        Assert.Empty(report.DeliveredTo);
    }

    [Fact]
    public void Postfix_hard_bounce_with_dsn_parameters()
    {
        var report = ParseFixture("postfix-hard.eml");

        AssertReport(report, ReportKind.Dsn, "relay.mailapi.test", "0193f1e2-a7c0-7b1e-9d3f-2c5a8e6b4f10", "224B7B546C6",
            "<179662790496.3367.8503939386827058788.0193f1e2@shop.example>");
        Assert.False(report.FailedRecipientsOnly);
        Assert.Equal("MAILER-DAEMON@mailapi.test", report.From);
        Assert.Equal("Undelivered Mail Returned to Sender", report.Subject);
        Assert.Equal(["bounces+0193f1e2a7c04b1e9d3f2c5a8e6b4f10.k7Qx2mP0@mailapi.test"], report.DeliveredTo);
        var recipient = Assert.Single(report.Recipients);
        Assert.Equal(new ReportRecipient("alice@hard.test", "alice@hard.test", "failed", "5.1.1",
            "smtp; 550 5.1.1 <alice@hard.test>: Recipient address rejected: User unknown in virtual mailbox table",
            "127.0.0.1", BounceClass.Hard), recipient);
    }

    [Theory]
    [InlineData("postfix-mailbox-full.eml", "Bob@Full.Test", "5.2.2", BounceClass.Soft, "0193f1e3-b001-7c22-a1e4-f00d9b3c2a71", "56754B55412")]
    [InlineData("postfix-policy.eml", "carol@policy.test", "5.7.1", BounceClass.Policy, "0193f1e3-c4d2-7e0f-8a55-b6e1c0d9f3a2", "93D02B549A1")]
    [InlineData("postfix-expired.eml", "erin@later.test", "4.2.1", BounceClass.Soft, "0193f1e5-d00d-7e11-b22c-33d44e55f667", "C7908B5552C")]
    [InlineData("postfix-hard-no-dsn-parameters.eml", "alice@hard.test", "5.1.1", BounceClass.Hard, null, "730BAB54001")]
    public void Postfix_failures_are_classified(string fixture, string address, string status, BounceClass expected, string? envelopeId,
        string queueId)
    {
        var report = ParseFixture(fixture);

        Assert.Equal(ReportKind.Dsn, report.Kind);
        Assert.Null(report.Reason);
        Assert.Equal(envelopeId, report.EnvelopeId);
        Assert.Equal(queueId, report.QueueId);
        Assert.NotNull(report.ReturnedMessageId);
        var recipient = Assert.Single(report.Recipients);
        Assert.Equal(address, recipient.Address);
        Assert.Equal("failed", recipient.Action);
        Assert.Equal(status, recipient.Status);
        Assert.Equal(expected, recipient.Class);
        Assert.StartsWith($"smtp; {status[0]}", recipient.Diagnostic);
    }

    [Fact]
    public void Postfix_reports_three_recipients_of_one_message_in_one_dsn()
    {
        var report = ParseFixture("postfix-three-recipients.eml");

        Assert.Equal("06188B549D1", report.QueueId);
        Assert.Equal(
            [("dave@full.test", BounceClass.Soft), ("alice@hard.test", BounceClass.Hard), ("carol@policy.test", BounceClass.Policy)],
            report.Recipients.Select(r => (r.Address, r.Class)));
    }

    [Fact]
    public void Postfix_delay_warning_is_a_delayed_dsn()
    {
        var report = ParseFixture("postfix-delayed.eml");

        Assert.Equal(ReportKind.Dsn, report.Kind);
        Assert.Equal("Delayed Mail (still being retried)", report.Subject);
        Assert.Equal("0193f1e5-d00d-7e11-b22c-33d44e55f667", report.EnvelopeId);
        var recipient = Assert.Single(report.Recipients);
        Assert.Equal(("erin@later.test", "delayed", "4.2.1", BounceClass.Soft),
            (recipient.Address, recipient.Action, recipient.Status, recipient.Class));
    }

    [Fact]
    public void Exim_status_5_0_0_takes_the_code_from_the_diagnostic()
    {
        var report = ParseFixture("exim-hard.eml");

        // No queue-id field: the id of the Received header Exim wrote on the returned headers.
        AssertReport(report, ReportKind.Dsn, "exim.mailapi.test", "0193f1e6-e1e1-7a2b-8c3d-4e5f60718293", "1xaT1X-0001vF-17",
            "<0193f1e6-exim-test@shop.example>");
        Assert.Equal("bounces+0193f1e6e1e17a2b8c3d4e5f60718293.Ex1m4Tok@mailapi.test", report.DeliveredTo[0]);
        var recipient = Assert.Single(report.Recipients);
        Assert.Equal(("nobody@hard.test", "failed", "5.1.1", BounceClass.Hard, "127.0.0.1"),
            (recipient.Address, recipient.Action, recipient.Status, recipient.Class, recipient.RemoteMta));
        Assert.StartsWith("smtp; 550 5.1.1 <nobody@hard.test>", recipient.Diagnostic);
    }

    [Fact]
    public void Microsoft_365_ndr()
    {
        var report = ParseFixture("microsoft365-hard.eml");

        // Exchange's Received header carries its version as "id", not a queue id.
        AssertReport(report, ReportKind.Dsn, "AM9PR04MB8410.eurprd04.prod.outlook.com", null, null,
            "<179662800011.5151.1111111111111111111.0193f1e7@shop.example>");
        Assert.Equal(["bounces+0193f1e7a1a27b3c8d4e5f6a7b8c9d0e.Ms365TkN@mailapi.test"], report.DeliveredTo);
        var recipient = Assert.Single(report.Recipients);
        Assert.Equal(new ReportRecipient("nobody@contoso.example", "nobody@contoso.example", "failed", "5.1.10",
            "smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup", null, BounceClass.Hard),
            recipient);
    }

    [Fact]
    public void Gmail_dsn()
    {
        var report = ParseFixture("gmail-hard.eml");

        AssertReport(report, ReportKind.Dsn, "googlemail.com", null, null, "<179662800022.5252.2222222222222222222.0193f1e8@shop.example>");
        var recipient = Assert.Single(report.Recipients);
        Assert.Equal(("no.such.person@gmail.com", "failed", "5.1.1", BounceClass.Hard),
            (recipient.Address, recipient.Action, recipient.Status, recipient.Class));
        Assert.StartsWith("gmail-smtp-in.l.google.com.", recipient.RemoteMta);
        // The multi-line reply unfolded into one line.
        Assert.StartsWith("smtp; 550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking",
            recipient.Diagnostic);
    }

    [Fact]
    public void Plain_text_bounce_naming_x_failed_recipients_and_quoting_the_headers()
    {
        var report = ParseFixture("gmail-plain-text.eml");

        Assert.Equal(ReportKind.Other, report.Kind);
        Assert.True(report.FailedRecipientsOnly);
        Assert.NotNull(report.Reason);
        Assert.Equal("<179662800033.5353.3333333333333333333.0193f1e9@shop.example>", report.ReturnedMessageId);
        Assert.Equal(new ReportRecipient("carol@unreachable.example", null, "failed", null, null, null, BounceClass.Unknown),
            Assert.Single(report.Recipients));
    }

    [Fact]
    public void Qmail_bounce_names_its_recipient_in_its_own_format()
    {
        var report = ParseFixture("qmail.eml");

        Assert.Equal(ReportKind.Other, report.Kind);
        Assert.True(report.FailedRecipientsOnly);
        Assert.Equal("<179662800044.5454.4444444444444444444.0193f1ea@shop.example>", report.ReturnedMessageId);
        Assert.Equal(["bounces+0193f1eaD4d59e6f1a7b8c9d0e1f2a3b.Qm4ilTok@mailapi.test"], report.DeliveredTo);
        var recipient = Assert.Single(report.Recipients);
        Assert.Equal(("dave@qmail.example", "failed", null, BounceClass.Unknown),
            (recipient.Address, recipient.Action, recipient.Status, recipient.Class));
        Assert.Contains("Remote host said: 550 5.1.1", recipient.Diagnostic);
    }

    [Fact]
    public void Arf_complaint()
    {
        var report = ParseFixture("arf-complaint.eml");

        AssertReport(report, ReportKind.Complaint, "mail.isp.example", null, null, "<179662800055.5555.5555555555555555555.0193f1eb@shop.example>");
        Assert.Equal("fbl@isp.example", report.From);
        Assert.Equal(["bounces+0193f1ebe5e6af7a2b8c9d0e1f2a3b4c.ArfT0ken@mailapi.test"], report.DeliveredTo);
        Assert.Equal(new ReportRecipient("erin@isp.example", null, "complaint", null, "abuse", null, BounceClass.Unknown),
            Assert.Single(report.Recipients));
    }

    [Fact]
    public void Arf_complaint_without_original_rcpt_to_names_the_returned_message_recipient()
    {
        var text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Bounces", "Fixtures", "arf-complaint.eml"))
            .Replace("Original-Rcpt-To: <erin@isp.example>\n", "", StringComparison.Ordinal);

        var report = ParseText(text);

        Assert.Equal(ReportKind.Complaint, report.Kind);
        Assert.Equal("erin@isp.example", Assert.Single(report.Recipients).Address);
    }

    [Fact]
    public void Vacation_auto_reply_is_not_a_report()
    {
        var report = ParseFixture("vacation-auto-reply.eml");

        AssertNotAReport(report, "auto-reply (Auto-Submitted: auto-replied, no report part)");
        Assert.Equal("frank@office.example", report.From);
    }

    [Fact]
    public void Multipart_report_without_delivery_status_part_is_not_a_dsn()
    {
        AssertNotAReport(ParseFixture("read-receipt.eml"), "no delivery-status part (a multipart/report of type disposition-notification)");
    }

    [Fact]
    public void Dsn_with_auto_submitted_is_still_a_dsn()
    {
        // Postfix marks every DSN auto-replied (the fixture has the header): the delivery-status part decides.
        var report = ParseFixture("postfix-hard.eml");

        Assert.Equal(ReportKind.Dsn, report.Kind);
    }

    [Fact]
    public void A_forwarded_bounce_is_not_a_bounce()
    {
        using var dsn = MimeMessage.Load(Path.Combine(AppContext.BaseDirectory, "Bounces", "Fixtures", "postfix-hard.eml"));
        var forward = new MimeMessage();
        forward.From.Add(MailboxAddress.Parse("someone@example.org"));
        forward.To.Add(MailboxAddress.Parse("bounces@mailapi.test"));
        forward.Subject = "Fwd: Undelivered Mail Returned to Sender";
        forward.Body = new Multipart("mixed") { new TextPart("plain") { Text = "Look at this." }, new MessagePart { Message = dsn } };

        AssertNotAReport(BounceReports.Parse(forward), "no delivery-status part");
    }

    [Fact]
    public void Empty_input()
    {
        AssertUnreadable(ParseText(""));
    }

    [Fact]
    public void Junk_bytes()
    {
        var junk = new byte[64 * 1024];
        new Random(25).NextBytes(junk);
        using var stream = new MemoryStream(junk);

        AssertUnreadable(BounceReports.Parse(stream, TestContext.Current.CancellationToken));
    }

    [Fact]
    public void Broken_mime_multipart_report_without_its_closing_boundary_or_part_headers()
    {
        var report = ParseText("""
            From: MAILER-DAEMON@relay.example
            To: bounces+x@mailapi.test
            Subject: Undelivered Mail Returned to Sender
            MIME-Version: 1.0
            Content-Type: multipart/report; report-type=delivery-status; boundary="never-closed"
            Content-Transfer-Encoding: base64

            --never-closed
            Content-Type: message/delivery-status; charset="
            Content-Transfer-Encoding: x-unheard-of

            Reporting-MTA: dns; relay.example
            Final-Recipient: rfc822;
            Action
            Status: 5.
            """);

        Assert.NotNull(report.Reason);
        Assert.Empty(report.Recipients);
    }

    [Fact]
    public void Delivery_status_with_recipient_groups_that_name_no_one()
    {
        var report = ParseText("""
            From: MAILER-DAEMON@relay.example
            Subject: Undelivered Mail Returned to Sender
            MIME-Version: 1.0
            Content-Type: multipart/report; report-type=delivery-status; boundary="b"

            --b
            Content-Type: message/delivery-status

            Reporting-MTA: dns; relay.example

            Action: failed
            Status: 5.1.1

            --b--
            """);

        Assert.Equal(ReportKind.Dsn, report.Kind);
        Assert.Empty(report.Recipients);
        Assert.Equal("the delivery-status part names no recipient", report.Reason);
    }

    [Fact]
    public void Five_megabyte_report()
    {
        var dsn = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Bounces", "Fixtures", "postfix-hard.eml"));
        var padding = new StringBuilder();
        while (padding.Length < 5 * 1024 * 1024)
        {
            padding.Append("X-Padding: ").Append('x', 900).Append('\n');
        }
        // 5 MB of returned headers.
        var huge = dsn.Replace("Return-Path: <bounces+", padding + "Return-Path: <bounces+", StringComparison.Ordinal);

        var report = ParseText(huge);

        Assert.Equal(ReportKind.Dsn, report.Kind);
        Assert.Equal("alice@hard.test", Assert.Single(report.Recipients).Address);
    }

    [Fact]
    public void A_header_folded_over_megabytes_is_bounded_by_the_token()
    {
        // MimeKit's header parser takes time that grows with the square of one folded header's length (a 1 MB one takes
        // seconds here), so a reader bounds each report with a deadline; cancellation is not content and is thrown.
        var folded = "X-Huge: " + string.Concat(Enumerable.Repeat(new string('y', 70) + "\n ", 2 * 1024 * 1024 / 72)) + "z\n";
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(folded + "Subject: x\n\nbody\n"));
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(TimeSpan.FromMilliseconds(200));
        var watch = System.Diagnostics.Stopwatch.StartNew();

        Assert.ThrowsAny<OperationCanceledException>(() => BounceReports.Parse(stream, deadline.Token));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
    }

    [Fact]
    public void Envelope_id_is_xtext_decoded()
    {
        var report = ParseText("""
            From: MAILER-DAEMON@relay.example
            MIME-Version: 1.0
            Content-Type: multipart/report; report-type=delivery-status; boundary="b"

            --b
            Content-Type: message/delivery-status

            Reporting-MTA: dns; relay.example
            Original-Envelope-Id: id+2Bwith+3Dsigns

            Final-Recipient: rfc822; <Someone@Example.COM>
            Action: Failed
            Status: 5.0.0 (permanent failure)
            Diagnostic-Code: smtp; 550 5.2.1 mailbox disabled, not 1.2.3.4

            --b--
            """);

        Assert.Equal("id+with=signs", report.EnvelopeId);
        Assert.Equal("relay.example", report.ReportingMta);
        var recipient = Assert.Single(report.Recipients);
        Assert.Equal(("Someone@Example.COM", "Someone@Example.COM", "failed", "5.2.1", BounceClass.Hard),
            (recipient.Address, recipient.FinalRecipient, recipient.Action, recipient.Status, recipient.Class));
    }

    [Fact]
    public void Global_delivery_status_with_utf8_addresses()
    {
        // RFC 6533: an SMTPUTF8 message's DSN, its returned headers as message/global-headers.
        var report = ParseText("""
            From: MAILER-DAEMON@relay.example
            MIME-Version: 1.0
            Content-Type: multipart/report; report-type=global-delivery-status; boundary="b"

            --b
            Content-Type: message/global-delivery-status

            Reporting-MTA: dns; relay.example

            Original-Recipient: utf-8; josé@exämple.test
            Final-Recipient: rfc822; jose@xn--exmple-cua.test
            Action: failed
            Status: 5.1.1

            --b
            Content-Type: message/global-headers

            Message-ID: <global-1@shop.example>
            Subject: Ihre Bestellung

            --b--
            """);

        Assert.Equal(ReportKind.Dsn, report.Kind);
        Assert.Equal("<global-1@shop.example>", report.ReturnedMessageId);
        var recipient = Assert.Single(report.Recipients);
        Assert.Equal(("josé@exämple.test", "jose@xn--exmple-cua.test", BounceClass.Hard),
            (recipient.Address, recipient.FinalRecipient, recipient.Class));
    }

    [Theory]
    [InlineData("5.1.1", BounceClass.Hard)]
    [InlineData("5.1.10", BounceClass.Hard)]
    [InlineData("5.1.0", BounceClass.Hard)]
    [InlineData("5.2.1", BounceClass.Hard)]
    [InlineData("5.2.2", BounceClass.Soft)]
    [InlineData("5.3.0", BounceClass.Soft)]
    [InlineData("5.4.4", BounceClass.Soft)]
    [InlineData("4.2.1", BounceClass.Soft)]
    [InlineData("4.4.7", BounceClass.Soft)]
    [InlineData("4.7.0", BounceClass.Soft)]
    [InlineData("5.7.1", BounceClass.Policy)]
    [InlineData("5.7.26", BounceClass.Policy)]
    [InlineData("5.2.3", BounceClass.Unknown)]
    [InlineData("5.5.0", BounceClass.Unknown)]
    [InlineData("5.6.0", BounceClass.Unknown)]
    [InlineData("5.0.0", BounceClass.Unknown)]
    [InlineData("2.0.0", BounceClass.Unknown)]
    [InlineData(" 5.1.1 (bad destination mailbox address)", BounceClass.Hard)]
    [InlineData("550", BounceClass.Unknown)]
    [InlineData("5.1", BounceClass.Unknown)]
    [InlineData("", BounceClass.Unknown)]
    [InlineData(null, BounceClass.Unknown)]
    [InlineData("x.1.1", BounceClass.Unknown)]
    public void Classify(string? status, BounceClass expected)
    {
        Assert.Equal(expected, BounceReports.Classify(status));
    }
}
