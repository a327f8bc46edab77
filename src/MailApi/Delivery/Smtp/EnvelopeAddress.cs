using System.Text;
using MimeKit;

namespace MailApi.Delivery.Smtp;

/// <summary>
/// Envelope addresses in the forms they take on the wire. MailKit writes an internationalised domain as its A-label
/// (<c>xn--bcher-kva.test</c>) to a relay without SMTPUTF8 and as its U-label (<c>bücher.test</c>) to one with it,
/// whatever form the stored address has; MimeKit's IDNA mapping leaves ASCII domains and address literals as they are.
/// </summary>
public static class EnvelopeAddress
{
    /// <summary>
    /// Whether <paramref name="address"/> cannot be written in ASCII even with its domain as an A-label: a non-ASCII
    /// local part (RFC 6531), which may go only to a relay that offers SMTPUTF8.
    /// </summary>
    public static bool NeedsSmtpUtf8(string address) => !Ascii.IsValid(MailboxAddress.EncodeAddrspec(address));
}
