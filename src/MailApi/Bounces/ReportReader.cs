using System.Text.RegularExpressions;
using MimeKit;

namespace MailApi.Bounces;

/// <summary>The work behind <see cref="BounceReports.Parse(MimeMessage)"/>: which report parts a mail has, and their fields.</summary>
internal static partial class ReportReader
{
    public static ParsedReport Read(MimeMessage message)
    {
        MessageDeliveryStatus? status = null;
        MessageFeedbackReport? feedback = null;
        MessagePart? returned = null;
        // Not into attached messages: a forwarded bounce is not a bounce of ours.
        foreach (var part in message.BodyParts)
        {
            switch (part)
            {
                case MessageDeliveryStatus s:
                    status ??= s;
                    break;
                case MessageFeedbackReport f:
                    feedback ??= f;
                    break;
                case MessagePart m: // message/rfc822 (RET=FULL) or text/rfc822-headers (RET=HDRS)
                    returned ??= m;
                    break;
            }
        }

        var report = new ParsedReport(ReportKind.Other, FirstAddress(message.From), NullIfEmpty(message.Subject), null, null,
            null, null, DeliveredTo(message), [], false, null);
        var returnedHeaders = returned?.Message?.Headers;
        report = report with { ReturnedMessageId = MessageId(returnedHeaders) };

        if (status is not null)
        {
            return ReadDsn(report, status, returnedHeaders);
        }
        if (feedback is not null)
        {
            return ReadComplaint(report, feedback, returned?.Message);
        }
        return PlainTextBounces.Read(report, message, returnedHeaders);
    }

    private static ParsedReport ReadDsn(ParsedReport report, MessageDeliveryStatus part, HeaderList? returnedHeaders)
    {
        var groups = part.StatusGroups;
        if (groups.Count == 0)
        {
            return report with { Reason = "the delivery-status part is empty" };
        }
        var perMessage = groups[0];
        var reportingMta = DsnFields.WithoutType(DsnFields.Get(perMessage, "Reporting-MTA"));
        var envelopeId = DsnFields.Get(perMessage, "Original-Envelope-Id");
        var recipients = new List<ReportRecipient>();
        for (var i = 1; i < groups.Count; i++)
        {
            var group = groups[i];
            var final = DsnFields.WithoutType(DsnFields.Get(group, "Final-Recipient"));
            var address = DsnFields.WithoutType(DsnFields.Get(group, "Original-Recipient")) ?? final;
            if (address is null)
            {
                continue;
            }
            var diagnostic = DsnFields.Get(group, "Diagnostic-Code");
            var effective = DsnFields.EffectiveStatus(DsnFields.Get(group, "Status"), diagnostic);
            recipients.Add(new ReportRecipient(address, final, ActionOf(group), effective, diagnostic,
                DsnFields.WithoutType(DsnFields.Get(group, "Remote-MTA")), BounceReports.Classify(effective)));
        }
        return report with
        {
            Kind = ReportKind.Dsn,
            ReportingMta = reportingMta,
            EnvelopeId = envelopeId is null ? null : DsnFields.XtextDecode(envelopeId),
            QueueId = DsnFields.Get(perMessage, "X-Postfix-Queue-ID") ?? ReceivedId(returnedHeaders, reportingMta),
            Recipients = recipients,
            Reason = recipients.Count == 0 ? "the delivery-status part names no recipient" : null,
        };
    }

    private static ParsedReport ReadComplaint(ParsedReport report, MessageFeedbackReport part, MimeMessage? returned)
    {
        var fields = part.Fields;
        var feedbackType = DsnFields.Get(fields, "Feedback-Type");
        var addresses = fields.Where(h => h.Id == HeaderId.Unknown && h.Field.Equals("Original-Rcpt-To", StringComparison.OrdinalIgnoreCase))
            .Select(h => DsnFields.WithoutType(h.Value.Trim()))
            .OfType<string>()
            .ToList();
        // Most feedback loops leave Original-Rcpt-To out; the complainer is then the returned message's recipient.
        if (addresses.Count == 0 && returned is not null)
        {
            addresses = returned.To.Mailboxes.Select(m => m.Address).ToList();
        }
        return report with
        {
            Kind = ReportKind.Complaint,
            ReportingMta = DsnFields.WithoutType(DsnFields.Get(fields, "Reporting-MTA")),
            Recipients = addresses.Distinct(StringComparer.Ordinal)
                .Select(a => new ReportRecipient(a, null, "complaint", null, feedbackType, null, BounceClass.Unknown))
                .ToList(),
        };
    }

    /// <summary>The Action's keyword in lower case (<c>failed</c>, <c>delayed</c>, …); <c>unknown</c> when absent.</summary>
    private static string ActionOf(HeaderList group)
    {
        var action = DsnFields.Get(group, "Action");
        if (action is null)
        {
            return "unknown";
        }
        var end = action.IndexOfAny([' ', '\t', '(', ';']);
        return (end < 0 ? action : action[..end]).ToLowerInvariant();
    }

    /// <summary>
    /// The reporting relay's queue id of the original where it writes none in the DSN (Exim, Sendmail): the <c>id</c>
    /// of the returned headers' Received header that the reporting MTA itself added.
    /// </summary>
    private static string? ReceivedId(HeaderList? returnedHeaders, string? reportingMta)
    {
        if (returnedHeaders is null || reportingMta is null)
        {
            return null;
        }
        var host = reportingMta.TrimEnd('.');
        foreach (var received in returnedHeaders.Where(h => h.Id == HeaderId.Received))
        {
            var value = received.Value;
            var by = ReceivedBy().Match(value);
            if (!by.Success || !by.Groups["host"].Value.TrimEnd('.').Equals(host, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            var id = ReceivedIdPattern().Match(value);
            // Exchange writes its version there ("id 15.20.6943.9"), not a queue id.
            if (id.Success && !VersionNumber().IsMatch(id.Groups["id"].Value))
            {
                return id.Groups["id"].Value;
            }
        }
        return null;
    }

    /// <summary>The returned original's Message-ID with its angle brackets, as in its header.</summary>
    internal static string? MessageId(HeaderList? headers) => headers is null ? null : DsnFields.Get(headers, "Message-ID");

    internal static string? FirstAddress(InternetAddressList list) => list.Mailboxes.FirstOrDefault()?.Address;

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    /// <summary>Delivered-To, X-Original-To, then To: each address once, as written.</summary>
    private static List<string> DeliveredTo(MimeMessage message)
    {
        var found = new List<string>();
        foreach (var name in new[] { "Delivered-To", "X-Original-To" })
        {
            foreach (var header in message.Headers.Where(h => h.Field.Equals(name, StringComparison.OrdinalIgnoreCase)))
            {
                if (InternetAddressList.TryParse(header.Value, out var list) && list.Mailboxes.Any())
                {
                    found.AddRange(list.Mailboxes.Select(m => m.Address));
                }
                else if (DsnFields.WithoutType(header.Value.Trim()) is { } bare)
                {
                    found.Add(bare);
                }
            }
        }
        found.AddRange(message.To.Mailboxes.Select(m => m.Address));
        return found.Where(a => a.Length > 0).Distinct(StringComparer.Ordinal).ToList();
    }

    [GeneratedRegex(@"(?:^|\s)by\s+(?<host>[^\s;()]+)", RegexOptions.IgnoreCase)]
    private static partial Regex ReceivedBy();

    [GeneratedRegex(@"(?:^|[\s;(])id\s+(?<id>[A-Za-z0-9][A-Za-z0-9._-]*)", RegexOptions.IgnoreCase)]
    private static partial Regex ReceivedIdPattern();

    [GeneratedRegex(@"^\d+(\.\d+)+$")]
    private static partial Regex VersionNumber();
}
