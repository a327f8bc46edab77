using MimeKit;

namespace MailApi.Testing;

/// <summary>One message a <see cref="TestSmtpServer"/> received (its DATA up to the final dot).</summary>
public sealed class ReceivedMessage
{
    /// <summary>The MAIL FROM address (empty for the null sender <c>&lt;&gt;</c>).</summary>
    public required string From { get; init; }

    /// <summary>The recipients whose RCPT TO was accepted, in order.</summary>
    public required IReadOnlyList<string> Recipients { get; init; }

    /// <summary>The message as received: dot-stuffing removed, ending with the CRLF before the final <c>.</c> line.</summary>
    public required byte[] Raw { get; init; }

    /// <summary><see cref="Raw"/> parsed by MimeKit.</summary>
    public required MimeMessage Message { get; init; }

    /// <summary>The queue id the server gave (also in the final reply when that is the default one).</summary>
    public required string QueueId { get; init; }

    /// <summary>The reply text the server gave (or holds) for the final dot, e.g. <c>2.0.0 Ok: queued as ID</c>.</summary>
    public required string ReplyText { get; init; }

    /// <summary>Whether the session was under TLS (STARTTLS) when the message came.</summary>
    public bool Secure { get; init; }

    /// <summary>The user the session authenticated as, or null.</summary>
    public string? AuthenticatedUser { get; init; }

    /// <summary>Which connection (1-based, in the order they were accepted) the message came on.</summary>
    public int ConnectionNumber { get; init; }

    /// <summary>When the server had the whole message (its final dot), by the server's clock.</summary>
    public DateTimeOffset ReceivedAt { get; init; }

    /// <summary>The raw message as text (UTF-8).</summary>
    public string RawText => System.Text.Encoding.UTF8.GetString(Raw);
}
