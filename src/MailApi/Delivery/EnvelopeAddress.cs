using MimeKit;

namespace MailApi.Delivery;

/// <summary>
/// Envelope addresses in the forms they take on the wire. MailKit writes an internationalised domain as its A-label
/// (<c>xn--bcher-kva.test</c>) to a relay without SMTPUTF8 and as its U-label (<c>bücher.test</c>) to one with it,
/// whatever form the stored address has; MimeKit's IDNA mapping leaves ASCII domains and address literals as they are.
/// </summary>
public static class EnvelopeAddress
{
    /// <summary>How <paramref name="address"/> may appear between the brackets of <c>RCPT TO:&lt;…&gt;</c>.</summary>
    public static string[] WireForms(string address) =>
        [MailboxAddress.EncodeAddrspec(address), MailboxAddress.DecodeAddrspec(address)];

}
