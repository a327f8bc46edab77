namespace MailApi.Messages;

/// <summary>
/// Bodies leave with CRLF only. A bare CR or bare LF is turned into CRLF rather than rejected: callers
/// paste text from every platform, and once every line end is CRLF the end-of-data sequence can only be
/// the one MimeKit writes (a body line "." is dot-stuffed), which closes the SMTP smuggling path of
/// CVE-2023-51764 where a relay reads "\n.\r\n" as the end of the data.
/// </summary>
public static class LineEnds
{
    public static string? ToCrlf(string? text)
    {
        if (text is null || IsCrlfOnly(text))
        {
            return text;
        }
        return text.Replace("\r\n", "\n").Replace('\r', '\n').Replace("\n", "\r\n");
    }

    /// <summary>
    /// Whether every CR in <paramref name="text"/> starts a CRLF and every LF ends one (true without either):
    /// then the text is already what <see cref="ToCrlf"/> makes, and the three copies of it are saved.
    /// </summary>
    private static bool IsCrlfOnly(ReadOnlySpan<char> text)
    {
        while (true)
        {
            var i = text.IndexOfAny('\r', '\n');
            if (i < 0)
            {
                return true;
            }
            if (text[i] != '\r' || i + 1 >= text.Length || text[i + 1] != '\n')
            {
                return false;
            }
            text = text[(i + 2)..];
        }
    }
}
