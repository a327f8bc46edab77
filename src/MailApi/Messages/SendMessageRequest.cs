namespace MailApi.Messages;

/// <summary>The body of <c>POST /v1/messages</c>. Every field is nullable so the validator, not the binder, names what is missing.</summary>
public sealed record SendMessageRequest
{
    /// <summary>The sender: <c>"Zotrim &lt;zotrim@domain.local&gt;"</c> or <c>"zotrim@domain.local"</c>.</summary>
    public string? From { get; init; }
    public List<string?>? To { get; init; }
    public List<string?>? Cc { get; init; }
    /// <summary>Envelope recipients that never appear in a header.</summary>
    public List<string?>? Bcc { get; init; }
    public List<string?>? ReplyTo { get; init; }
    public string? Subject { get; init; }
    /// <summary>Plain-text body; any mix of line ends, sent as CRLF.</summary>
    public string? Text { get; init; }
    /// <summary>HTML body; any mix of line ends, sent as CRLF.</summary>
    public string? Html { get; init; }
    /// <summary>Custom header fields, name → value.</summary>
    public Dictionary<string, string?>? Headers { get; init; }
    public List<AttachmentRequest?>? Attachments { get; init; }
    public List<string?>? Tags { get; init; }
    /// <summary>Returned as given, never sent in the mail.</summary>
    public Dictionary<string, string?>? Metadata { get; init; }
    /// <summary>Send at this time instead of now.</summary>
    public DateTimeOffset? SendAt { get; init; }
}

/// <summary>A file sent with the message; a <c>contentId</c> makes it inline (<c>cid:</c>).</summary>
public sealed record AttachmentRequest
{
    public string? Filename { get; init; }
    public string? ContentType { get; init; }
    /// <summary>The file's bytes in base64.</summary>
    public string? Content { get; init; }
    public string? ContentId { get; init; }
}
