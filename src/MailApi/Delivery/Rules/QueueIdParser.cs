using System.Text.RegularExpressions;

namespace MailApi.Delivery.Rules;

/// <summary>
/// Finds the upstream's queue id in the reply to the final dot (the text after the reply code,
/// with or without the enhanced status code), for the common MTAs and mail services.
/// </summary>
/// <remarks>
/// Recognised: Postfix and the servers that copy its wording (<c>Ok: queued as X</c>), Exim (<c>OK id=X</c>),
/// Sendmail and OpenSMTPD (<c>X Message accepted for delivery</c>), Exchange / Microsoft 365
/// (<c>[InternalId=N, …]</c>, else the <c>&lt;id&gt;</c> before <c>Queued mail for delivery</c>), Gmail
/// (<c>OK &lt;time&gt; X - gsmtp</c>), Amazon SES (<c>Ok X</c>), qmail (<c>ok &lt;time&gt; qp N</c>) and Haraka
/// (<c>(UUID.N)</c>). Anything else gives <c>null</c>; the caller keeps the whole reply text anyway.
/// </remarks>
public static partial class QueueIdParser
{
    /// <summary>The queue id in <paramref name="finalReplyText"/>, or <c>null</c> when none is recognisable.</summary>
    public static string? Parse(string? finalReplyText)
    {
        if (string.IsNullOrWhiteSpace(finalReplyText))
        {
            return null;
        }

        foreach (var rawLine in finalReplyText.Split('\n'))
        {
            var line = rawLine.Trim();
            var enhanced = LeadingEnhancedCode().Match(line);
            if (enhanced.Success)
            {
                line = line[enhanced.Length..];
            }

            var id = Match(line);
            if (id is not null)
            {
                return id;
            }
        }
        return null;
    }

    private static string? Match(string line)
    {
        // Most specific first: an Exchange reply carries a <message-id> that would otherwise look like an id.
        foreach (var regex in (ReadOnlySpan<Regex>)
                 [ExchangeInternalId(), ExchangeMessageId(), Gmail(), AmazonSes(), Qmail(), Haraka(),
                  SendmailOrOpenSmtpd(), PostfixQueuedAs(), EximId()])
        {
            var match = regex.Match(line);
            if (match.Success)
            {
                return match.Groups["id"].Value;
            }
        }
        return null;
    }

    // "2.0.0 " or OpenSMTPD's "2.0.0: ".
    [GeneratedRegex(@"^[245]\.\d{1,3}\.\d{1,3}:?\s+")]
    private static partial Regex LeadingEnhancedCode();

    // Postfix "Ok: queued as 092D0CD01" (long ids too); SendGrid, Mailpit, go-smtp servers use the same words.
    [GeneratedRegex(@"\bqueued as:?\s+<?(?<id>[A-Za-z0-9][A-Za-z0-9._@+=-]*[A-Za-z0-9])>?(?=[\s,;)]|$)", RegexOptions.IgnoreCase)]
    private static partial Regex PostfixQueuedAs();

    // Exim "OK id=1rAbCd-000Abc-Xy" and the 4.97+ form "OK id=1xBuT1-000000003QH-0Qqz".
    [GeneratedRegex(@"(?:^|\s)id=(?<id>[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])(?=[\s,;)]|$)", RegexOptions.IgnoreCase)]
    private static partial Regex EximId();

    // Sendmail "x3LJOQ1X012345 Message accepted for delivery", OpenSMTPD "1a2b3c4d Message accepted for delivery".
    // A Sendmail id holds a digit, so that "OK: Message accepted for delivery" is not taken for one. OpenSMTPD writes its
    // id as "%08x" (smtp_session.c), so eight lower-case hex characters are an id even without a digit ("abcdefab",
    // about 1 in 2,560); no word of a reply without an id has that form.
    [GeneratedRegex(@"^(?<id>(?-i:[0-9a-f]{8})|(?=[A-Za-z]*[0-9])[A-Za-z0-9]{6,24}):?\s+Message accepted for delivery", RegexOptions.IgnoreCase)]
    private static partial Regex SendmailOrOpenSmtpd();

    // Exchange / Microsoft 365: "<msgid> [InternalId=105849469029151, Hostname=…] … Queued mail for delivery".
    [GeneratedRegex(@"\[InternalId=(?<id>\d+)[,\]]", RegexOptions.IgnoreCase)]
    private static partial Regex ExchangeInternalId();

    // Older Exchange / Outlook.com without an InternalId: "<SNT0-MC3-F19…@…hotmail.com> Queued mail for delivery".
    [GeneratedRegex(@"^<(?<id>[^<>\s]+)>.*\bQueued mail for delivery", RegexOptions.IgnoreCase)]
    private static partial Regex ExchangeMessageId();

    // Gmail: "OK  1653776100 r33-20020a056870582100b000f169cbbb32sm1847208oap.43 - gsmtp".
    [GeneratedRegex(@"^OK\s+\d+\s+(?<id>[A-Za-z0-9][A-Za-z0-9._-]*)\s+-\s+gsmtp\b", RegexOptions.IgnoreCase)]
    private static partial Regex Gmail();

    // Amazon SES: "Ok 010001727bf05c7f-8ff7cc5f-aea3-4284-91ea-51f2f82c4469-000000".
    [GeneratedRegex(@"^Ok\s+(?<id>[0-9a-f]{16}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-[0-9a-f]{6})\b", RegexOptions.IgnoreCase)]
    private static partial Regex AmazonSes();

    // qmail: "ok 1375388751 qp 26627" — qmail-send logs the message as "qp 26627".
    [GeneratedRegex(@"^ok\s+\d+\s+qp\s+(?<id>\d+)\b", RegexOptions.IgnoreCase)]
    private static partial Regex Qmail();

    // Haraka: "Message Queued (9E4BCB7C-6006-451E-BA1D-7F80FCABBE72.1)".
    [GeneratedRegex(@"\((?<id>[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}(?:\.\d+)*)\)", RegexOptions.IgnoreCase)]
    private static partial Regex Haraka();
}
