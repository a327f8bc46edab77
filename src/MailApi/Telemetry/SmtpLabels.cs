namespace MailApi.Telemetry;

/// <summary>
/// The words metrics and spans use for SMTP commands and replies: the verb only, never its arguments (addresses), and
/// from a closed set, so a relay or a caller cannot grow the number of label values.
/// </summary>
public static class SmtpLabels
{
    /// <summary>The reply that no command asked for: the greeting (or a 421 before a hang-up).</summary>
    public const string Greeting = "GREETING";

    /// <summary>The end of data, <c>"."</c> in the transcript: the reply that says whether the relay took the message.</summary>
    public const string DataEnd = "DATA_END";

    /// <summary>A command outside the known set.</summary>
    public const string Other = "OTHER";

    private static readonly string[] Verbs =
        ["EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "NOOP", "QUIT", "VRFY", "EXPN", "HELP"];

    /// <summary>The verb of a transcript command: <c>MAIL FROM:&lt;a@b&gt;</c> → <c>MAIL</c>, <c>"."</c> → <see cref="DataEnd"/>, none → <see cref="Greeting"/>.</summary>
    public static string Command(string? command)
    {
        if (command is null)
        {
            return Greeting;
        }
        if (command == ".")
        {
            return DataEnd;
        }
        var span = command.AsSpan();
        var end = span.IndexOfAny(' ', ':');
        var verb = end < 0 ? span : span[..end];
        foreach (var known in Verbs)
        {
            if (verb.Equals(known, StringComparison.OrdinalIgnoreCase))
            {
                return known;
            }
        }
        return Other;
    }

    /// <summary>The reply's class: <c>2xx</c>, <c>3xx</c>, <c>4xx</c>, <c>5xx</c>, or <c>other</c> for a reply without a valid code.</summary>
    public static string ReplyClass(int code) => code switch
    {
        >= 200 and < 300 => "2xx",
        >= 300 and < 400 => "3xx",
        >= 400 and < 500 => "4xx",
        >= 500 and < 600 => "5xx",
        _ => "other",
    };
}
