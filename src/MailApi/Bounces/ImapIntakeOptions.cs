using MailKit.Security;

namespace MailApi.Bounces;

/// <summary>
/// The bounce mailbox read over IMAP (section <c>Bounces:Imap</c>). The reader runs when <c>Bounces:Enabled</c> and
/// <see cref="Host"/> are set. Folder names nest with <c>/</c> whatever separator the server uses.
/// </summary>
public sealed class ImapIntakeOptions
{
    public const string Section = "Bounces:Imap";

    /// <summary>The IMAP server; unset, no mailbox is read.</summary>
    public string? Host { get; set; }

    /// <summary>0: the port of <see cref="Security"/> (993 for <c>SslOnConnect</c>, else 143).</summary>
    public int Port { get; set; }

    /// <summary>MailKit's <see cref="SecureSocketOptions"/>: <c>SslOnConnect</c> (the default), <c>StartTls</c>, <c>None</c>…</summary>
    public SecureSocketOptions Security { get; set; } = SecureSocketOptions.SslOnConnect;

    public string? Username { get; set; }

    public string? Password { get; set; }

    /// <summary>The folder the relay's bounces arrive in.</summary>
    public string Folder { get; set; } = "INBOX";

    /// <summary>How often the folder is looked at when the server offers no IDLE; also how often an instance that is not the
    /// reader asks whether it may be (several instances on one PostgreSQL database).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Where a mail goes once its report matched a message (created when missing).</summary>
    public string ProcessedFolder { get; set; } = "MailApi/Processed";

    /// <summary>Where every other mail goes: unmatched, no report, unreadable, too large (created when missing).</summary>
    public string UnmatchedFolder { get; set; } = "MailApi/Unmatched";

    /// <summary>The port connected to.</summary>
    public int EffectivePort => Port != 0 ? Port : Security == SecureSocketOptions.SslOnConnect ? 993 : 143;

    /// <summary>
    /// The folder as an IMAP URL (RFC 5092), the same in every instance configured for it: what the reader's lock and the
    /// reports' sources name.
    /// </summary>
    public string MailboxUrl =>
        $"imap://{Uri.EscapeDataString(Username ?? "")}@{Host?.ToLowerInvariant()}:{EffectivePort}/{string.Join('/', Folder.Split('/').Select(Uri.EscapeDataString))}";
}
