using MailKit;
using MailKit.Net.Smtp;
using MimeKit;

namespace MailApi.Delivery;

/// <summary>
/// MailKit's client, changed so one rejected recipient does not stop the others: MailKit's default throws
/// on the first rejected RCPT and aborts the whole transaction. The replies themselves are read from the transcript.
/// </summary>
internal sealed class DeliveryClient(IProtocolLogger logger) : SmtpClient(logger)
{
    protected override void OnRecipientNotAccepted(MimeMessage message, MailboxAddress mailbox, SmtpResponse response)
    {
        // Keep going: the recipient's reply is in the transcript, and the accepted recipients still get the message.
    }

    protected override void OnNoRecipientsAccepted(MimeMessage message)
    {
        // MailKit then throws "No recipients were accepted" and sends RSET: no DATA is sent, which is what we want.
    }
}
