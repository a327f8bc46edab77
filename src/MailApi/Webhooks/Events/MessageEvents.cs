using MailApi.Storage;

namespace MailApi.Webhooks.Events;

/// <summary>
/// Which event a write of a message stands for, decided from the message alone (its status, its attempts and the last
/// event it carries), so every writer — submit, the delivery job, cancel, a takeover — records events the same way
/// without knowing about them.
/// </summary>
public static class MessageEvents
{
    public const string Scheduled = "message.scheduled";
    public const string Queued = "message.queued";
    public const string Sent = "message.sent";
    public const string PartiallySent = "message.partially_sent";
    public const string Deferred = "message.deferred";
    public const string Failed = "message.failed";
    public const string Canceled = "message.canceled";
    public const string Bounced = "message.bounced";
    public const string Delayed = "message.delayed";
    public const string Complained = "message.complained";
    public const string Test = "webhook.test";

    /// <summary>Every event type an endpoint can subscribe to.</summary>
    public static readonly IReadOnlyList<string> All =
        [Scheduled, Queued, Sent, PartiallySent, Deferred, Failed, Canceled, Bounced, Delayed, Complained,
            Suppressions.SuppressionList.Created, Suppressions.SuppressionList.Deleted, Test];

    /// <summary><paramref name="message"/> with the event its new state stands for appended, or as it is when none.</summary>
    public static StoredMessage WithEvent(StoredMessage message)
    {
        var last = message.Events.Count > 0 ? message.Events[^1] : null;
        var (type, status) = NewReport(message, last) is { } report ? (report, message.Status) : message.Status switch
        {
            MessageStatus.Scheduled when last is null => (Scheduled, MessageStatus.Scheduled),
            // "queued" only says something after waiting: a scheduled or deferred message whose time came (the job took it).
            MessageStatus.Queued or MessageStatus.Sending when last?.Status is MessageStatus.Scheduled or MessageStatus.Deferred
                => (Queued, MessageStatus.Queued),
            // Each transient failure is an event of its own: a new attempt makes it new.
            MessageStatus.Deferred when last is not { Status: MessageStatus.Deferred } || last.Attempt != message.Attempts.Count
                => (Deferred, MessageStatus.Deferred),
            MessageStatus.Sent or MessageStatus.PartiallySent or MessageStatus.Failed or MessageStatus.Canceled when last?.Status != message.Status
                => ("message." + message.Status.Name(), message.Status),
            _ => (null, message.Status),
        };
        if (type is null)
        {
            return message;
        }
        var attempt = status is MessageStatus.Queued or MessageStatus.Canceled ? null : message.Attempts.LastOrDefault();
        var recorded = new StoredEvent
        {
            Id = Guid.CreateVersion7(message.UpdatedAt),
            Sequence = message.Events.Count + 1,
            Type = type,
            Timestamp = message.UpdatedAt,
            Status = status,
            Attempt = message.Attempts.Count,
            Upstream = message.Upstream,
            QueueId = message.QueueId,
            Reply = attempt is null ? null : Cause(attempt),
            Error = attempt?.Error,
            Recipients = message.Recipients,
            NextAttemptAt = message.NextAttemptAt,
            PossibleDuplicate = message.PossibleDuplicate,
        };
        return message with { Events = [.. message.Events, recorded] };
    }

    /// <summary>
    /// A bounce report was applied since the last event (a recipient carries a report the last event did not):
    /// <c>message.bounced</c> when it bounced a recipient, <c>message.complained</c> for a complaint (ARF),
    /// <c>message.delayed</c> when it only said the delivery is late.
    /// Either is the event of that write, whatever the status became (a sent message may now be partially_sent).
    /// </summary>
    private static string? NewReport(StoredMessage message, StoredEvent? last)
    {
        string? type = null;
        foreach (var recipient in message.Recipients)
        {
            if (recipient.Bounce is { } bounce && last?.Recipients.Any(r => r.Bounce?.ReportId == bounce.ReportId && r.Address == recipient.Address) != true)
            {
                type = recipient.Status == RecipientStatus.Bounced ? Bounced
                    : bounce.Action == "complaint" && type != Bounced ? Complained
                    : type ?? Delayed;
            }
        }
        return type;
    }

    /// <summary>The reply that decided the attempt: the last refusal in it, else the answer to the end of data.</summary>
    private static StoredReply? Cause(DeliveryAttempt attempt) =>
        attempt.Transcript.LastOrDefault(e => e.Reply is { Code: >= 400 })?.Reply
        ?? attempt.Transcript.LastOrDefault(e => e.Command == ".")?.Reply;
}
