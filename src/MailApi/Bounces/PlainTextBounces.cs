using System.Text;
using System.Text.RegularExpressions;
using MimeKit;

namespace MailApi.Bounces;

/// <summary>
/// Mail without a report part: a plain-text bounce that names its failed recipients and quotes the original's headers
/// (Exim's <c>X-Failed-Recipients</c>, qmail's own format), an auto-reply, or anything else, each with its reason.
/// </summary>
internal static partial class PlainTextBounces
{
    private const string NoReportPart = "no delivery-status part";

    public static ParsedReport Read(ParsedReport report, MimeMessage message, HeaderList? returnedHeaders)
    {
        var text = message.TextBody ?? "";
        var failed = message.Headers.Where(h => h.Field.Equals("X-Failed-Recipients", StringComparison.OrdinalIgnoreCase))
            .SelectMany(h => h.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Select(a => DsnFields.WithoutType(a))
            .OfType<string>()
            .Select(a => new ReportRecipient(a, null, "failed", null, null, null, BounceClass.Unknown))
            .ToList();
        if (failed.Count == 0)
        {
            failed = Qmail(text);
        }

        returnedHeaders ??= QuotedHeaders(text);
        if (failed.Count > 0 && returnedHeaders is not null && QuotesAnOriginal(returnedHeaders))
        {
            return report with
            {
                Recipients = failed.DistinctBy(r => r.Address, StringComparer.Ordinal).ToList(),
                FailedRecipientsOnly = true,
                ReturnedMessageId = report.ReturnedMessageId ?? ReportReader.MessageId(returnedHeaders),
                Reason = "not a delivery status notification: a plain-text bounce naming its failed recipients",
            };
        }
        return report with { Reason = WhyNotAReport(message, failed.Count > 0) };
    }

    private static string WhyNotAReport(MimeMessage message, bool namesFailedRecipients)
    {
        if (message.Body is MultipartReport report)
        {
            return $"{NoReportPart} (a multipart/report of type {report.ReportType ?? "none"})";
        }
        if (AutoReplyMark(message) is { } mark)
        {
            return $"auto-reply ({mark}, no report part)";
        }
        return namesFailedRecipients ? $"{NoReportPart}; it names failed recipients but quotes none of the original's headers" : NoReportPart;
    }

    /// <summary>The header that marks the mail as written by a program (RFC 3834's Auto-Submitted, or one of the
    /// older conventions of vacation and challenge-response programs), as <c>name: value</c>.</summary>
    private static string? AutoReplyMark(MimeMessage message)
    {
        foreach (var name in AutoReplyHeaders)
        {
            var value = message.Headers[name]?.Trim();
            if (!string.IsNullOrEmpty(value) && !value.Equals("no", StringComparison.OrdinalIgnoreCase))
            {
                return $"{name}: {value}";
            }
        }
        var precedence = message.Headers[HeaderId.Precedence]?.Trim();
        return precedence is not null && precedence.Equals("auto_reply", StringComparison.OrdinalIgnoreCase)
            ? $"Precedence: {precedence}"
            : null;
    }

    private static readonly string[] AutoReplyHeaders = ["Auto-Submitted", "X-Autoreply", "X-Autorespond", "X-Autoresponder"];

    /// <summary>
    /// qmail's bounce (QSBMF, cr.yp.to/proto/qsbmf.txt): after "Hi. This is the qmail-send program", one paragraph per
    /// recipient starting with <c>&lt;address&gt;:</c>, up to the line starting with <c>---</c> before the copy.
    /// </summary>
    private static List<ReportRecipient> Qmail(string text)
    {
        var recipients = new List<ReportRecipient>();
        if (!text.Contains("This is the qmail-send program", StringComparison.Ordinal))
        {
            return recipients;
        }
        var lines = text.ReplaceLineEndings("\n").Split('\n');
        for (var i = 0; i < lines.Length && !lines[i].StartsWith("---", StringComparison.Ordinal); i++)
        {
            var match = QmailRecipient().Match(lines[i]);
            if (!match.Success)
            {
                continue;
            }
            var diagnostic = new StringBuilder();
            for (i++; i < lines.Length && lines[i].Trim().Length > 0 && !lines[i].StartsWith("---", StringComparison.Ordinal); i++)
            {
                diagnostic.Append(diagnostic.Length > 0 ? " " : "").Append(lines[i].Trim());
            }
            i--;
            recipients.Add(new ReportRecipient(match.Groups["address"].Value, null, "failed", null,
                diagnostic.Length > 0 ? diagnostic.ToString() : null, null, BounceClass.Unknown));
        }
        return recipients;
    }

    /// <summary>The original's headers quoted in the text, read by MimeKit from the first line that starts one.</summary>
    private static HeaderList? QuotedHeaders(string text)
    {
        var start = QuotedHeaderStart().Match(text);
        if (!start.Success)
        {
            return null;
        }
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(text[start.Index..]));
        try
        {
            return HeaderList.Load(stream);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>A Message-ID, or at least two of the headers every sent mail has.</summary>
    private static bool QuotesAnOriginal(HeaderList headers) =>
        headers.Contains(HeaderId.MessageId)
        || new[] { HeaderId.From, HeaderId.To, HeaderId.Subject, HeaderId.Date, HeaderId.Received }.Count(headers.Contains) >= 2;

    [GeneratedRegex(@"^<(?<address>[^<>\s]+)>:\s*$")]
    private static partial Regex QmailRecipient();

    [GeneratedRegex(@"^(?:Return-Path|Received|Message-ID|From|Date|Subject|To):", RegexOptions.IgnoreCase | RegexOptions.Multiline)]
    private static partial Regex QuotedHeaderStart();
}
