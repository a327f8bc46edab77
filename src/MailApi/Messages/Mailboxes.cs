using MimeKit;

namespace MailApi.Messages;

/// <summary>Parses the mailbox strings callers send, more strictly than MimeKit does by default.</summary>
public static class Mailboxes
{
    private static readonly ParserOptions Strict = new()
    {
        // MimeKit takes "no-at-sign" as a mailbox by default; the API wants local part, '@' and domain
        // (docs/API.md, "POST /v1/messages: send one message").
        AllowAddressesWithoutDomain = false,
        AddressParserComplianceMode = RfcComplianceMode.Strict,
    };

    /// <summary>Strings longer than this are parsed every time rather than remembered.</summary>
    private const int MaxRemembered = 512;

    private const int Remembered = 4;

    /// <summary>
    /// The last few strings this thread parsed. One POST parses the same From and To several times (validator,
    /// sender check, stored message), all on one thread; the parse is a pure function of the string.
    /// </summary>
    [ThreadStatic] private static Parsed?[]? _recent;
    [ThreadStatic] private static int _next;

    /// <summary>A parse result: <see cref="Address"/> is null when the string is not a valid mailbox.</summary>
    private sealed record Parsed(string Value, string? Address, string? Domain);

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

    /// <summary>Whether <paramref name="value"/> is exactly one valid mailbox (as <see cref="TryParse"/> says).</summary>
    public static bool IsMailbox(string? value) => value is not null && Parse(value).Address is not null;

    /// <summary>The bare address of a mailbox string that already passed validation.</summary>
    public static string Address(string value) => AddressAndDomain(value).Address;

    /// <summary>The bare address and the domain of a mailbox string that already passed validation.</summary>
    public static (string Address, string Domain) AddressAndDomain(string value) => Parse(value) is { Address: { } address, Domain: { } domain }
        ? (address, domain)
        : throw new ArgumentException($"'{value}' is not a valid mailbox.", nameof(value));

    /// <summary>
    /// Whether <paramref name="address"/> (a bare address) matches a sender pattern: <c>*</c> (anyone), <c>@domain</c>
    /// (that domain exactly) or a full address, without regard to case.
    /// </summary>
    public static bool MatchesPattern(string pattern, string address) =>
        pattern == "*"
        || (pattern.StartsWith('@') && address.EndsWith(pattern, StringComparison.OrdinalIgnoreCase))
        || string.Equals(pattern, address, StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether <paramref name="pattern"/> is a sender pattern <see cref="MatchesPattern"/> understands.</summary>
    public static bool IsPattern(string? pattern) =>
        pattern == "*"
        || (pattern is ['@', .. var domain] && domain.Length > 0 && !domain.Contains('@') && IsMailbox("x" + pattern))
        || IsMailbox(pattern) && !pattern!.Contains('<');

    private static Parsed Parse(string value)
    {
        var recent = _recent ??= new Parsed?[Remembered];
        foreach (var parsed in recent)
        {
            if (parsed is not null && string.Equals(parsed.Value, value, StringComparison.Ordinal))
            {
                return parsed;
            }
        }
        var mailbox = TryParse(value);
        var result = new Parsed(value, mailbox?.Address, mailbox?.Domain);
        if (value.Length <= MaxRemembered)
        {
            recent[_next] = result;
            _next = (_next + 1) % Remembered;
        }
        return result;
    }
}
