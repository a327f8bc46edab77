namespace MailApi.Bounces;

/// <summary>A mail read as a bounce report by <see cref="BounceReports.Parse(MimeKit.MimeMessage)"/>.</summary>
/// <param name="Kind">DSN, complaint, or other.</param>
/// <param name="From">The address in the report's <c>From</c> header.</param>
/// <param name="Subject">The report's subject.</param>
/// <param name="ReportingMta">Reporting-MTA without its type (<c>dns;</c>).</param>
/// <param name="EnvelopeId">Original-Envelope-Id (the ENVID the sender gave), xtext-decoded; null when absent.</param>
/// <param name="QueueId">The reporting relay's queue id of the original: Postfix's <c>X-Postfix-Queue-ID</c>, else the
/// <c>id</c> of the returned headers' <c>Received</c> header written by the reporting MTA (Exim, Sendmail).</param>
/// <param name="ReturnedMessageId">The Message-ID of the returned original (its headers or the whole message), with
/// its angle brackets as in the header; null when none was returned.</param>
/// <param name="DeliveredTo">The addresses the report was delivered to, in this order: Delivered-To, X-Original-To,
/// To; each once, as written.</param>
/// <param name="Recipients">The recipient groups, in the report's order.</param>
/// <param name="FailedRecipientsOnly">True when the mail is not an RFC report but a plain-text bounce that names its
/// failed recipients (<c>X-Failed-Recipients</c>, or qmail's own format) and quotes the original's headers:
/// <see cref="Recipients"/> then hold those addresses with action <c>failed</c>, no status, class unknown.</param>
/// <param name="Reason">Null for a well-formed DSN or complaint; else why the mail is not one, or could not be read.</param>
public sealed record ParsedReport(
    ReportKind Kind,
    string? From,
    string? Subject,
    string? ReportingMta,
    string? EnvelopeId,
    string? QueueId,
    string? ReturnedMessageId,
    IReadOnlyList<string> DeliveredTo,
    IReadOnlyList<ReportRecipient> Recipients,
    bool FailedRecipientsOnly,
    string? Reason);
