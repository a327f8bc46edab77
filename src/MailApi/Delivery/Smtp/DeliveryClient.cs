using MailApi.Delivery.Dkim;
using MailKit;
using MailKit.Net.Smtp;
using MimeKit;

namespace MailApi.Delivery.Smtp;

/// <summary>
/// MailKit's client, changed so one rejected recipient does not stop the others: MailKit's default throws
/// on the first rejected RCPT and aborts the whole transaction. Each recipient's reply is kept in
/// <see cref="RecipientReplies"/> as MailKit hands it over, keyed by the address the transaction was given.
/// </summary>
internal sealed class DeliveryClient(IProtocolLogger logger) : SmtpClient(logger)
{
    /// <summary>Signs each message once it is final (DKIM), or null to send it unsigned.</summary>
    public DkimSigning? Dkim { get; set; }

    /// <summary>The delivery status notifications to ask for (MailKit sends them only to a relay that offers DSN), or null for none.</summary>
    public DsnRequest? Dsn
    {
        get;
        set
        {
            field = value;
            DeliveryStatusNotificationType = value is null ? DeliveryStatusNotificationType.Unspecified : DeliveryStatusNotificationType.HeadersOnly;
        }
    }

    protected override string? GetEnvelopeId(MimeMessage message) => Dsn?.EnvelopeId;

    // MailKit adds ORCPT=rfc822;<address> beside NOTIFY.
    protected override DeliveryStatusNotification? GetDeliveryStatusNotifications(MimeMessage message, MailboxAddress mailbox) =>
        Dsn is null ? null : DeliveryStatusNotification.Failure | DeliveryStatusNotification.Delay;

    // MailKit chooses the transfer encodings here (8BITMIME or 7bit) and writes the message with these very options
    // afterwards; it skips this preparation for a message that is signed already, so the signature is made here, last.
    protected override void Prepare(FormatOptions options, MimeMessage message, EncodingConstraint constraint, int maxLineLength)
    {
        message.Prepare(constraint, maxLineLength);
        Dkim?.Sign(options, message);
    }

    /// <summary>The reply to each <c>RCPT TO</c> of the current transaction; cleared before each one.</summary>
    public Dictionary<string, SmtpReply> RecipientReplies { get; } = new(StringComparer.OrdinalIgnoreCase);

    protected override void OnRecipientAccepted(MimeMessage message, MailboxAddress mailbox, SmtpResponse response) =>
        RecipientReplies[mailbox.Address] = SmtpReply.From(response);

    // Keep going: the accepted recipients still get the message.
    protected override void OnRecipientNotAccepted(MimeMessage message, MailboxAddress mailbox, SmtpResponse response) =>
        RecipientReplies[mailbox.Address] = SmtpReply.From(response);

    // MailKit would go on to throw "554 No recipients were accepted", a reply no relay gave; this exception says
    // that the text is MailKit's. Being an SmtpCommandException, MailKit still sends RSET, and no DATA is sent.
    protected override void OnNoRecipientsAccepted(MimeMessage message) => throw new NoRecipientAcceptedException();
}

/// <summary>
/// No <c>RCPT TO</c> of the transaction was accepted, so the client sent no DATA. Whether a retry can help depends on
/// the relay's replies to the RCPTs (in the transcript), not on this exception's made-up status code.
/// </summary>
internal sealed class NoRecipientAcceptedException()
    : SmtpCommandException(SmtpErrorCode.MessageNotAccepted, SmtpStatusCode.TransactionFailed, "No recipient was accepted.");
