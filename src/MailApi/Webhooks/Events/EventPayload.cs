using System.Text.Json;
using MailApi.Http;
using MailApi.Messages;
using MailApi.Storage;

namespace MailApi.Webhooks.Events;

/// <summary>An event as callers see it, in <c>GET /v1/messages/{id}/events</c> and in a webhook body.</summary>
public sealed record EventResource(Guid Id, string Type, DateTimeOffset Timestamp, EventData Data);

/// <summary>The list answer of <c>GET /v1/messages/{id}/events</c>, oldest first.</summary>
public sealed record EventList(IReadOnlyList<EventResource> Items);

/// <summary>What a webhook request carries: the type, when it happened and its data (no id: <c>webhook-id</c> is the delivery's).</summary>
public sealed record EventBody(string Type, DateTimeOffset Timestamp, object Data);

/// <summary>The message at the time of the event: no transcript, no body, no attachment.</summary>
public sealed record EventData(
    Guid Id, MessageStatus Status, int Sequence, int Attempt, string From, IReadOnlyList<string> To, string Subject,
    IReadOnlyList<string> Tags, IReadOnlyDictionary<string, string> Metadata, string? Upstream, string? QueueId,
    ReplyResource? Reply, string? Error, IReadOnlyList<RecipientResource> Recipients, DateTimeOffset? NextAttemptAt,
    bool PossibleDuplicate, bool RecipientsTruncated = false);

public static class EventPayload
{
    /// <summary>The bound on a webhook body (docs/webhooks.md, "GET /v1/messages/{id}/events").</summary>
    public const int MaxBytes = 20 * 1024;

    public static EventResource Of(StoredMessage message, StoredEvent e) => new(e.Id, e.Type, e.Timestamp, Data(message, e));

    /// <summary>The webhook body of <paramref name="e"/>, at most <see cref="MaxBytes"/>: a message with very many recipients
    /// sends the first of them and says so (<c>recipientsTruncated</c>); the message resource has them all.</summary>
    public static string Body(StoredMessage message, StoredEvent e)
    {
        var data = Data(message, e);
        while (true)
        {
            var body = JsonSerializer.Serialize(new EventBody(e.Type, e.Timestamp, data), ApiJson.Options);
            // A UTF-16 char is at most 3 UTF-8 bytes (a surrogate pair 4 for 2): short bodies need no count.
            if (body.Length <= MaxBytes / 3 || System.Text.Encoding.UTF8.GetByteCount(body) <= MaxBytes || data.Recipients.Count == 0)
            {
                return body;
            }
            data = data with
            {
                Recipients = data.Recipients.Take(data.Recipients.Count / 2).ToList(),
                To = data.To.Take(Math.Max(1, data.To.Count / 2)).ToList(),
                RecipientsTruncated = true,
            };
        }
    }

    private static EventData Data(StoredMessage m, StoredEvent e) => new(
        m.Id, e.Status, e.Sequence, e.Attempt, m.Content.From, m.Content.To, m.Content.Subject, m.Content.Tags, m.Content.Metadata,
        e.Upstream, e.QueueId, ReplyResource.Of(e.Reply), e.Error,
        e.Recipients.Select(RecipientResource.Of).ToList(),
        e.NextAttemptAt, e.PossibleDuplicate);
}
