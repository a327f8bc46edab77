using System.Text.Json.Serialization;

namespace MailApi.Delivery.Smtp;

/// <summary>
/// One complete SMTP reply: the three-digit code, the RFC 3463 enhanced status code when the server gave one,
/// and the text of every line joined with <c>"\n"</c> (the enhanced code removed from each line that repeats it).
/// </summary>
/// <param name="Code">The reply code (250, 354, 550 …); 0 when the server sent no three-digit code.</param>
/// <param name="EnhancedCode">The enhanced status code such as <c>2.1.5</c>, or <c>null</c>.</param>
/// <param name="Text">The reply text without codes; lines joined with <c>"\n"</c>.</param>
public sealed record SmtpReply(int Code, string? EnhancedCode, string Text)
{
    /// <summary>2yz or 3yz: the command was accepted (or the server waits for more).</summary>
    [JsonIgnore]
    public bool IsPositive => Code is >= 200 and < 400;

    /// <summary>4yz: a transient failure, worth another try later.</summary>
    [JsonIgnore]
    public bool IsTransient => Code is >= 400 and < 500;

    /// <summary>5yz: a permanent failure.</summary>
    [JsonIgnore]
    public bool IsPermanent => Code is >= 500 and < 600;

    /// <summary>
    /// Parses the lines of one reply, each without its CRLF: <c>250-first</c>, <c>250-second</c>, <c>250 last</c>
    /// (a bare <c>250</c> is a line with empty text).
    /// </summary>
    /// <exception cref="ArgumentException">No lines were given.</exception>
    public static SmtpReply Parse(IReadOnlyList<string> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        if (lines.Count == 0)
        {
            throw new ArgumentException("A reply has at least one line.", nameof(lines));
        }

        var code = ParseCode(lines[0]);
        var enhanced = FindEnhancedCode(TextOf(lines[0]), code);

        if (lines.Count == 1)
        {
            return new SmtpReply(code, enhanced, Strip(TextOf(lines[0]), enhanced));
        }

        var parts = new string[lines.Count];
        for (var i = 0; i < lines.Count; i++)
        {
            parts[i] = Strip(TextOf(lines[i]), enhanced);
        }

        return new SmtpReply(code, enhanced, string.Join('\n', parts));
    }

    /// <summary>The reply as MailKit hands it over (its text holds the lines without their codes, joined with <c>"\n"</c>).</summary>
    public static SmtpReply From(MailKit.Net.Smtp.SmtpResponse response)
    {
        var code = (int)response.StatusCode;
        var lines = response.Response.Split('\n');
        return Parse(lines.Select((line, i) => $"{code}{(i < lines.Length - 1 ? '-' : ' ')}{line}").ToArray());
    }

    private static int ParseCode(string line)
    {
        if (line.Length < 3 || !char.IsAsciiDigit(line[0]) || !char.IsAsciiDigit(line[1]) || !char.IsAsciiDigit(line[2]))
        {
            return 0;
        }

        return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    }

    // "250-foo" / "250 foo" → "foo"; a line without a code keeps its whole text.
    private static ReadOnlySpan<char> TextOf(string line)
    {
        if (ParseCode(line) == 0)
        {
            return line;
        }

        return line.Length > 4 ? line.AsSpan(4) : [];
    }

    // RFC 3463: class "." subject "." detail, class in {2,4,5} and equal to the reply's first digit,
    // subject and detail 1–3 digits; it must be followed by a space or end the line.
    private static string? FindEnhancedCode(ReadOnlySpan<char> text, int code)
    {
        var length = EnhancedCodeLength(text);
        if (length == 0 || code == 0 || text[0] - '0' != code / 100)
        {
            return null;
        }

        return text[..length].ToString();
    }

    private static int EnhancedCodeLength(ReadOnlySpan<char> text)
    {
        if (text.Length < 5 || text[0] is not ('2' or '4' or '5') || text[1] != '.')
        {
            return 0;
        }

        var i = 2;
        var digits = 0;
        while (i < text.Length && char.IsAsciiDigit(text[i]) && digits < 3) { i++; digits++; }
        if (digits == 0 || i >= text.Length || text[i] != '.')
        {
            return 0;
        }

        i++;
        digits = 0;
        while (i < text.Length && char.IsAsciiDigit(text[i]) && digits < 3) { i++; digits++; }
        if (digits == 0 || (i < text.Length && text[i] != ' '))
        {
            return 0;
        }

        return i;
    }

    private static string Strip(ReadOnlySpan<char> text, string? enhanced)
    {
        if (enhanced is not null && text.StartsWith(enhanced, StringComparison.Ordinal)
            && (text.Length == enhanced.Length || text[enhanced.Length] == ' '))
        {
            text = text.Length == enhanced.Length ? [] : text[(enhanced.Length + 1)..];
        }
        return text.ToString();
    }
}

/// <summary>
/// One step of an SMTP dialogue: the command the client sent (<c>null</c> for the greeting or an unsolicited
/// reply) and the reply it got (<c>null</c> when none came, e.g. the connection dropped).
/// </summary>
/// <param name="Command">The command as sent, with AUTH payloads replaced by <c>***</c>; <c>"."</c> for the end of data.</param>
/// <param name="Reply">The server's reply, or <c>null</c>.</param>
public sealed record TranscriptEntry(string? Command, SmtpReply? Reply);
