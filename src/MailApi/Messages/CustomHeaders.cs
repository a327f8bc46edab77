namespace MailApi.Messages;

/// <summary>Which custom header fields a caller may set (the <c>headers</c> object of a message).</summary>
public static class CustomHeaders
{
    public const int MaxCount = 50;
    public const int MaxValueLength = 2000;

    /// <summary>Header fields the service writes itself; a caller may not set them.</summary>
    private static readonly string[] Owned = ["From", "To", "Cc", "Bcc", "Reply-To", "Subject", "Date", "Message-ID", "MIME-Version"];

    /// <summary>
    /// Fields that speak for the sender or for the path the message took (RFC 5322 §3.6.6-3.6.7, DKIM, ARC, RFC 8601).
    /// Set by a caller they would let a key allowed one sender claim another, or forge a relay's or verifier's verdict.
    /// </summary>
    private static readonly string[] SpeakForSender = ["Sender", "Return-Path", "Received", "DKIM-Signature", "Authentication-Results"];

    private static readonly string[] SpeakForSenderPrefixes = ["Resent-", "ARC-"];

    /// <summary>Why <paramref name="name"/> may not be set, or null when it may.</summary>
    public static string? RefusalFor(string name)
    {
        if (name.Length is 0 or > 76 || !name.All(c => c is > ' ' and <= '~' and not ':'))
        {
            return "A header name must be 1-76 printable ASCII characters without ':' or spaces (RFC 5322 field name).";
        }
        if (Owned.Contains(name, StringComparer.OrdinalIgnoreCase) || name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase))
        {
            return $"The header '{name}' is set by the service; use the matching field instead.";
        }
        if (SpeakForSender.Contains(name, StringComparer.OrdinalIgnoreCase)
            || SpeakForSenderPrefixes.Any(p => name.StartsWith(p, StringComparison.OrdinalIgnoreCase)))
        {
            return $"The header '{name}' speaks for the sender or the path of the message; only the sending and receiving systems set it.";
        }
        return null;
    }
}
