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
        if (text is null || !text.AsSpan().ContainsAny('\r', '\n'))
        {
            return text;
        }
        return text.Replace("\r\n", "\n").Replace('\r', '\n').Replace("\n", "\r\n");
    }
}
