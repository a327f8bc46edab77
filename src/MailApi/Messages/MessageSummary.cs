using MailApi.Storage;

namespace MailApi.Messages;

/// <summary>One line of <c>GET /v1/messages</c>.</summary>
public sealed record MessageSummary(
    Guid Id, MessageStatus Status, string From, IReadOnlyList<string> To, string Subject,
    DateTimeOffset CreatedAt, DateTimeOffset? SentAt, string? QueueId)
{
    public static MessageSummary Of(StoredMessage m) =>
        new(m.Id, m.Status, m.Content.From, m.Content.To, m.Content.Subject, m.CreatedAt, m.SentAt, m.QueueId);
}

/// <summary>A page of summaries, newest first; <c>nextCursor</c> fetches the next page, null on the last.</summary>
public sealed record MessageList(IReadOnlyList<MessageSummary> Items, string? NextCursor);

/// <summary>The body of <c>POST /v1/messages/batch</c>.</summary>
public sealed record BatchRequest
{
    /// <summary>1 to 100 messages, each like the body of <c>POST /v1/messages</c>.</summary>
    public List<SendMessageRequest?>? Messages { get; init; }
}

/// <summary>The answer to a batch: every stored message, in request order.</summary>
public sealed record BatchResult(IReadOnlyList<MessageResource> Items);
