namespace MailApi.Bounces;

/// <summary>How a failed or delayed recipient's status is classified (see <see cref="BounceReports.Classify"/>).</summary>
public enum BounceClass
{
    /// <summary>The address is bad (5.1.x, 5.2.1): mailing it again will fail again.</summary>
    Hard,

    /// <summary>The mailbox exists but could not take the mail now (4.x.x, 5.2.2 mailbox full, 5.3.x, 5.4.x).</summary>
    Soft,

    /// <summary>The sender or the content was refused, not the address (5.7.x).</summary>
    Policy,

    /// <summary>No status, one that cannot be read, or a code none of the above covers.</summary>
    Unknown,
}
