using MailApi.Bounces;
using MailApi.Storage;
using MimeKit;
using MimeKit.Utils;

namespace MailApi.DevRelay;

/// <summary>
/// The capture relay's test addresses, as Resend's and Postmark's: a recipient whose local part is <c>bounce</c> is
/// accepted with 250, and then the report a Postfix relay would send comes back through the bounce intake — a
/// <c>failed</c> DSN with <c>550 5.1.1</c> for <c>bounce@…</c>, a <c>delayed</c> one for <c>delay@…</c>, a complaint
/// (ARF) for <c>complaint@…</c>. So a bounce can be seen in Swagger UI and on the activity page with nothing installed.
/// </summary>
/// <remarks>The intake and the store are taken from <paramref name="services"/> when a report is due, so the relay needs
/// nothing else of the service to be built (its own tests build it alone).</remarks>
public sealed class DevBounces(IServiceProvider services, ILogger<DevBounces> logger)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>The kind of report a recipient asks for, or null for an ordinary address.</summary>
    public static string? KindOf(string address) => address.Split('@')[0].ToLowerInvariant() switch
    {
        "bounce" => "failed",
        "delay" => "delayed",
        "complaint" => "complaint",
        _ => null,
    };

    /// <summary>
    /// After the relay answered 250 for <paramref name="raw"/>: once the service has recorded the message as sent (it reads
    /// the queue id from the 250), the report for each test recipient goes to the intake, as the relay's bounce would.
    /// </summary>
    public void Report(byte[] raw, string queueId, string returnPath, IReadOnlyList<string> recipients)
    {
        var tests = recipients.Where(r => KindOf(r) is not null).ToList();
        if (tests.Count > 0)
        {
            _ = Task.Run(() => ReportAsync(raw, queueId, returnPath, tests));
        }
    }

    private async Task ReportAsync(byte[] raw, string queueId, string returnPath, List<string> recipients)
    {
        try
        {
            var original = MimeMessage.Load(new MemoryStream(raw));
            await WaitUntilRecordedAsync(original.MessageId, queueId);
            var intake = services.GetRequiredService<BounceIntake>();
            foreach (var recipient in recipients)
            {
                var report = KindOf(recipient) == "complaint"
                    ? Complaint(original, recipient, returnPath)
                    : Dsn(original, recipient, queueId, returnPath, KindOf(recipient)!);
                using var bytes = new MemoryStream();
                await report.WriteToAsync(bytes);
                await intake.TakeAsync(bytes.ToArray(), "dev", returnPath, CancellationToken.None);
            }
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "The capture relay's test report for queue id {QueueId} could not be handed in", queueId);
        }
    }

    /// <summary>Waits (a state, not a time) until the message carries the relay's queue id: its 250 is recorded.</summary>
    private async Task WaitUntilRecordedAsync(string? messageId, string queueId)
    {
        var local = messageId?.Split('@')[0];
        if (!Guid.TryParse(local, out var id))
        {
            return;
        }
        var store = services.GetRequiredService<IMessageStore>();
        var clock = services.GetService<TimeProvider>() ?? TimeProvider.System;
        var deadline = clock.GetUtcNow() + Patience;
        while (clock.GetUtcNow() < deadline && (await store.FindAsync(id, CancellationToken.None))?.QueueId != queueId)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100), clock);
        }
    }

    /// <summary>A DSN shaped as Postfix's bounce(8) writes it (RFC 3464), returning the original's headers.</summary>
    private static MimeMessage Dsn(MimeMessage original, string recipient, string queueId, string returnPath, string action)
    {
        var failed = action == "failed";
        var report = Report(original, returnPath, failed ? "Undelivered Mail Returned to Sender" : "Delayed Mail (still being retried)");
        report.Headers.Add("Auto-Submitted", "auto-replied");
        var human = new TextPart("plain")
        {
            Text = failed
                ? $"This is the mail system at host {DevRelayOptions.Host}.\n\nI'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n<{recipient}>: host mx.{Domain(recipient)} said: 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown\n"
                : $"This is the mail system at host {DevRelayOptions.Host}.\n\n####################################################################\n# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n####################################################################\n\n<{recipient}>: host mx.{Domain(recipient)} said: 450 4.2.1 <{recipient}>: Recipient address rejected: Try again later\n",
        };
        var status = new MessageDeliveryStatus();
        var envelope = new HeaderList
        {
            { "Reporting-MTA", $"dns; {DevRelayOptions.Host}" },
            { "X-Postfix-Queue-ID", queueId },
            { "X-Postfix-Sender", $"rfc822; {returnPath}" },
            { "Arrival-Date", DateUtils.FormatDate(DateTimeOffset.UtcNow) },
        };
        var group = new HeaderList
        {
            { "Final-Recipient", $"rfc822; {recipient}" },
            { "Original-Recipient", $"rfc822;{recipient}" },
            { "Action", action },
            { "Status", failed ? "5.1.1" : "4.2.1" },
            { "Remote-MTA", $"dns; mx.{Domain(recipient)}" },
            { "Diagnostic-Code", failed
                ? $"smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown"
                : $"smtp; 450 4.2.1 <{recipient}>: Recipient address rejected: Try again later" },
        };
        status.StatusGroups.Add(envelope);
        status.StatusGroups.Add(group);
        var body = new MultipartReport("delivery-status") { human, status, ReturnedHeaders(original) };
        report.Body = body;
        return report;
    }

    /// <summary>A complaint as a mailbox provider's feedback loop sends it (RFC 5965).</summary>
    private static MimeMessage Complaint(MimeMessage original, string recipient, string returnPath)
    {
        var report = Report(original, returnPath, "Complaint about a message");
        var feedback = new MimePart("message", "feedback-report")
        {
            Content = new MimeContent(new MemoryStream(System.Text.Encoding.ASCII.GetBytes(
                $"Feedback-Type: abuse\r\nUser-Agent: MailApi-capture-relay/1.0\r\nVersion: 1\r\nOriginal-Mail-From: <{returnPath}>\r\n"
                + $"Original-Rcpt-To: <{recipient}>\r\nArrival-Date: {DateUtils.FormatDate(DateTimeOffset.UtcNow)}\r\n"))),
        };
        report.Body = new MultipartReport("feedback-report")
        {
            new TextPart("plain") { Text = $"This is an abuse report for a message sent to {recipient}.\n" },
            feedback,
            ReturnedHeaders(original),
        };
        return report;
    }

    private static MimeMessage Report(MimeMessage original, string returnPath, string subject)
    {
        var report = new MimeMessage { Subject = subject, MessageId = MimeUtils.GenerateMessageId(DevRelayOptions.Host) };
        report.From.Add(new MailboxAddress("Mail Delivery System", $"MAILER-DAEMON@{DevRelayOptions.Host}"));
        report.To.Add(MailboxAddress.Parse(returnPath));
        report.Headers.Add("Delivered-To", returnPath);
        return report;
    }

    private static MimePart ReturnedHeaders(MimeMessage original)
    {
        using var headers = new MemoryStream();
        original.Headers.WriteTo(headers);
        return new MimePart("text", "rfc822-headers") { Content = new MimeContent(new MemoryStream(headers.ToArray())) };
    }

    private static string Domain(string address) => address[(address.LastIndexOf('@') + 1)..];
}
