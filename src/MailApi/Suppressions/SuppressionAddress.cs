using MailApi.Messages;
using MimeKit;

namespace MailApi.Suppressions;

/// <summary>
/// The one form an address takes on the suppression list: the domain as its lower-case A-label (IDNA), the local part
/// lower-cased. <c>Bob@Bücher.Test</c> and <c>bob@xn--bcher-kva.test</c> are one entry. Lower-casing the local part is
/// stricter than RFC 5321 (which lets a server tell <c>Bob</c> from <c>bob</c>), but no mailbox provider does, and a
/// suppression list that missed a case variant would mail a dead address again.
/// </summary>
public static class SuppressionAddress
{
    /// <summary>The normal form of a bare address, or null when <paramref name="value"/> is not one.</summary>
    public static string? Normalize(string? value)
    {
        if (value is null || value.Contains('<') || Mailboxes.TryParse(value) is not { } mailbox || mailbox.Name is { Length: > 0 })
        {
            return null;
        }
        return MailboxAddress.EncodeAddrspec(mailbox.Address).ToLowerInvariant();
    }

    /// <summary>The normal form of an address that already passed validation (a stored recipient).</summary>
    public static string Of(string address) => MailboxAddress.EncodeAddrspec(address).ToLowerInvariant();
}
