namespace MailApi.Bounces;

/// <summary>Bounces after the relay took the message (section <c>Bounces</c>).</summary>
public sealed class BounceOptions
{
    public const string Section = "Bounces";

    /// <summary>Asks relays for delivery status notifications and takes reports in (off by default: the dialogue is as before).</summary>
    public bool Enabled { get; set; }

    /// <summary>
    /// The envelope sender (MAIL FROM) with a token naming the message, e.g. <c>bounces+{token}@mail.example.com</c>; without
    /// <c>{token}</c>, <see cref="TokenDelimiter"/> and the token are added to the local part. Unset: MAIL FROM stays the
    /// message's <c>from</c>, and reports are matched by the weaker keys (envelope id, queue id, Message-ID).
    /// </summary>
    public string? ReturnPath { get; set; }

    /// <summary>The key of the token's HMAC, at least 32 bytes (UTF-8); required with <see cref="ReturnPath"/>.</summary>
    public string? TokenSecret { get; set; }

    /// <summary>What separates the mailbox from the token when <see cref="ReturnPath"/> has no <c>{token}</c>: <c>+</c>, or <c>-</c> or <c>=</c>.</summary>
    public string TokenDelimiter { get; set; } = "+";

    /// <summary>How long after it was sent a message can be matched by its relay queue id.</summary>
    public TimeSpan MatchWindow { get; set; } = TimeSpan.FromDays(7);

    /// <summary>The largest report <c>POST /v1/bounces</c> takes; larger is a 413.</summary>
    public int MaxReportBytes { get; set; } = 1024 * 1024;

    /// <summary>How long reports and their raw mail are kept.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(30);
}
