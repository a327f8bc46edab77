using MailApi.Storage;

namespace MailApi.Messages;

/// <summary>A message and what happened to it, as <c>GET /v1/messages/{id}</c> returns it.</summary>
public sealed record MessageResource(
    Guid Id,
    MessageStatus Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? SendAt,
    DateTimeOffset? SentAt,
    string From,
    IReadOnlyList<string> To,
    IReadOnlyList<string> Cc,
    IReadOnlyList<string> Bcc,
    IReadOnlyList<string> ReplyTo,
    string Subject,
    IReadOnlyList<string> Tags,
    IReadOnlyDictionary<string, string> Metadata,
    string MessageId,
    string? Upstream,
    string? QueueId,
    ReplyResource? FinalReply,
    IReadOnlyList<RecipientResource> Recipients,
    IReadOnlyList<AttemptResource> Attempts,
    DateTimeOffset? NextAttemptAt,
    bool PossibleDuplicate)
{
    public static MessageResource Of(StoredMessage m) => new(
        m.Id, m.Status, m.CreatedAt, m.UpdatedAt, m.SendAt, m.SentAt,
        m.Content.From, m.Content.To, m.Content.Cc, m.Content.Bcc, m.Content.ReplyTo, m.Content.Subject,
        m.Content.Tags, m.Content.Metadata, m.MessageId, m.Upstream, m.QueueId, ReplyResource.Of(m.FinalReply),
        m.Recipients.Select(r => new RecipientResource(r.Address, r.Status, ReplyResource.Of(r.Reply))).ToList(),
        m.Attempts.Select(a => new AttemptResource(a.Number, a.StartedAt, a.FinishedAt, a.Outcome, a.Error, a.Upstream, a.ConnectionId,
            a.ReusedConnection, a.FailedOver, a.Transcript.Select(e => new TranscriptEntryResource(e.Command, ReplyResource.Of(e.Reply))).ToList())).ToList(),
        m.NextAttemptAt, m.PossibleDuplicate);
}

/// <summary>One envelope recipient and the upstream's reply to its RCPT TO.</summary>
public sealed record RecipientResource(string Address, RecipientStatus Status, ReplyResource? Reply);

/// <summary>What the relay answered: the reply code, the enhanced status code or null, the text (lines joined with <c>"\n"</c>).</summary>
public sealed record ReplyResource(int Code, string? EnhancedCode, string Text)
{
    public static ReplyResource? Of(StoredReply? reply) => reply is null ? null : new(reply.Code, reply.EnhancedCode, reply.Text);
}

/// <summary>A client command (null for the greeting; <c>"."</c> for the end of data) and the reply it got (null when none came).</summary>
public sealed record TranscriptEntryResource(string? Command, ReplyResource? Reply);

/// <summary>One SMTP dialogue: when, how it ended, and every command with the reply it got.</summary>
public sealed record AttemptResource(
    int Number,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt,
    MessageStatus Outcome,
    string? Error,
    string Upstream,
    string? ConnectionId,
    bool ReusedConnection,
    bool FailedOver,
    IReadOnlyList<TranscriptEntryResource> Transcript);
