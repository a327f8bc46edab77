using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using MimeKit;

namespace MailApi.Bounces;

/// <summary>Reading the values of DSN and ARF fields (RFC 3464 §2, RFC 5965 §3) once MimeKit has split them.</summary>
internal static partial class DsnFields
{
    /// <summary>The field's value, folding whitespace collapsed to one space, trimmed; null when absent or empty.</summary>
    public static string? Get(HeaderList fields, string name)
    {
        var value = fields[name];
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }
        return Folding().Replace(value, " ").Trim();
    }

    /// <summary>
    /// The value without its type: <c>rfc822; x@y</c> gives <c>x@y</c>, <c>dns; mx.example</c> gives <c>mx.example</c>.
    /// Angle brackets around an address go too. A value without a type is returned as it is.
    /// </summary>
    public static string? WithoutType(string? value)
    {
        if (value is null)
        {
            return null;
        }
        var match = TypePrefix().Match(value);
        var rest = (match.Success ? value[match.Length..] : value).Trim();
        if (rest.Length > 1 && rest[0] == '<' && rest[^1] == '>')
        {
            rest = rest[1..^1].Trim();
        }
        return rest.Length == 0 ? null : rest;
    }

    /// <summary>
    /// An enhanced status code (RFC 3463) at the start of <paramref name="status"/>, e.g. <c>5.1.1</c> from
    /// <c>5.1.1 (bad destination mailbox)</c>; null when there is none.
    /// </summary>
    public static string? LeadingCode(string? status)
    {
        if (status is null)
        {
            return null;
        }
        var match = LeadingCodePattern().Match(status);
        return match.Success ? match.Groups["code"].Value : null;
    }

    /// <summary>The first enhanced status code inside a diagnostic (<c>smtp; 550-5.1.1 The email account …</c>).</summary>
    public static string? CodeIn(string? text)
    {
        if (text is null)
        {
            return null;
        }
        var match = CodePattern().Match(text);
        return match.Success ? match.Value : null;
    }

    /// <summary>
    /// The status that counts: <paramref name="status"/>'s code, unless it is only <c>x.0.0</c> (Exim's habit) and the
    /// diagnostic carries a code of the same class; the diagnostic's code when there is no Status at all.
    /// </summary>
    public static string? EffectiveStatus(string? status, string? diagnostic)
    {
        var code = LeadingCode(status);
        var inside = CodeIn(diagnostic);
        if (code is null)
        {
            return inside;
        }
        if (code.EndsWith(".0.0", StringComparison.Ordinal) && inside is not null && inside[0] == code[0])
        {
            return inside;
        }
        return code;
    }

    /// <summary>Decodes xtext (RFC 3461 §4): <c>+</c> and two upper-case hex digits stand for one byte.</summary>
    public static string XtextDecode(string value)
    {
        if (!value.Contains('+', StringComparison.Ordinal))
        {
            return value;
        }
        var bytes = new List<byte>(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '+' && i + 2 < value.Length && IsUpperHex(value[i + 1]) && IsUpperHex(value[i + 2]))
            {
                bytes.Add(byte.Parse(value.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                i += 2;
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(value[i].ToString()));
            }
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private static bool IsUpperHex(char c) => c is (>= '0' and <= '9') or (>= 'A' and <= 'F');

    [GeneratedRegex(@"\s*\r?\n\s*|\s{2,}")]
    private static partial Regex Folding();

    // An address or MTA type (RFC 3464 §2.1.2): an atom followed by ';'.
    [GeneratedRegex(@"^\s*[A-Za-z0-9][A-Za-z0-9._+-]*\s*;")]
    private static partial Regex TypePrefix();

    [GeneratedRegex(@"^\s*(?<code>[245]\.\d{1,3}\.\d{1,3})(?!\d|\.\d)")]
    private static partial Regex LeadingCodePattern();

    // Not inside an IP address or a version number: no digit or dot right before, no ".digit" or digit right after.
    [GeneratedRegex(@"(?<![\d.])[245]\.\d{1,3}\.\d{1,3}(?!\d|\.\d)")]
    private static partial Regex CodePattern();
}
