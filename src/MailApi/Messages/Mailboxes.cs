using MimeKit;

namespace MailApi.Messages;

/// <summary>Parses the mailbox strings callers send, more strictly than MimeKit does by default.</summary>
public static class Mailboxes
{
    private static readonly ParserOptions Strict = new()
    {
        // MimeKit takes "no-at-sign" as a mailbox by default; the contract wants local part, '@' and domain.
        AllowAddressesWithoutDomain = false,
        AddressParserComplianceMode = RfcComplianceMode.Strict,
    };

    /// <summary>The mailbox in <paramref name="value"/>, or null when it is not exactly one valid address.</summary>
    public static MailboxAddress? TryParse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value) || value.AsSpan().ContainsAny('\r', '\n'))
        {
            return null;
        }
        if (!MailboxAddress.TryParse(Strict, value, out var mailbox))
        {
            return null;
        }
        return mailbox.LocalPart.Length > 0 && mailbox.Domain.Length > 0 && !mailbox.Domain.Contains(' ') ? mailbox : null;
    }

    /// <summary>The bare address of a mailbox string that already passed validation.</summary>
    public static string Address(string value) => TryParse(value)?.Address
        ?? throw new ArgumentException($"'{value}' is not a valid mailbox.", nameof(value));
}
