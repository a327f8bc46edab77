using System.Text.Json.Serialization;
using MailApi.Storage;
using MailApi.Suppressions;

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
        m.Recipients.Select(RecipientResource.Of).ToList(),
        m.Attempts.Select(a => new AttemptResource(a.Number, a.StartedAt, a.FinishedAt, a.Outcome, a.Error, a.Upstream, a.ConnectionId,
            a.ReusedConnection, a.FailedOver, a.Transcript.Select(e => new TranscriptEntryResource(e.Command, ReplyResource.Of(e.Reply))).ToList())).ToList(),
        m.NextAttemptAt, m.PossibleDuplicate);
}

/// <summary>One envelope recipient and the upstream's reply to its RCPT TO; a suppressed one says why it was not offered.</summary>
public sealed record RecipientResource(
    string Address,
    RecipientStatus Status,
    ReplyResource? Reply,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] SuppressionMarkResource? Suppression = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] BounceResource? Bounce = null)
{
    public static RecipientResource Of(RecipientState r) => new(r.Address, r.Status, ReplyResource.Of(r.Reply),
        r.Suppression is { } s ? new SuppressionMarkResource(s.Reason, s.Since) : null,
        r.Bounce is { } b ? new BounceResource(b.Action, b.Status, b.Diagnostic, b.RemoteMta, b.ReportingMta, b.Class, b.ReportId, b.At) : null);
}

/// <summary>
/// What a bounce report said of a recipient after the relay accepted it: <c>failed</c> (the recipient is <c>bounced</c>)
/// or <c>delayed</c>; the enhanced status, the remote server's diagnostic, who reported it, the class (<c>hard</c>, <c>soft</c>,
/// <c>policy</c>, <c>unknown</c>), the report's id.
/// </summary>
public sealed record BounceResource(string Action, string? Status, string? Diagnostic, string? RemoteMta, string? ReportingMta,
    string Class, Guid ReportId, DateTimeOffset At);

/// <summary>Why a recipient was <c>suppressed</c>: the reason of its suppression-list entry, and since when it is listed.</summary>
public sealed record SuppressionMarkResource(SuppressionReason Reason, DateTimeOffset Since);

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
