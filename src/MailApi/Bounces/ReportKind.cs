namespace MailApi.Bounces;

/// <summary>What kind of mail a report is.</summary>
public enum ReportKind
{
    /// <summary>A delivery status notification (RFC 3464): it has a <c>message/delivery-status</c> or
    /// <c>message/global-delivery-status</c> part, whatever its <c>Auto-Submitted</c> header says.</summary>
    Dsn,

    /// <summary>An abuse complaint from a feedback loop (ARF, RFC 5965): a <c>message/feedback-report</c> part.</summary>
    Complaint,

    /// <summary>Anything else: auto-replies, challenge mail, plain-text bounces, mail that could not be read.</summary>
    Other,
}
