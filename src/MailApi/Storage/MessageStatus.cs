using System.Text.Json;

namespace MailApi.Storage;

/// <summary>Where a message is on its way to the upstream relay. Serialised in snake_case (<c>partially_sent</c>).</summary>
public enum MessageStatus
{
    /// <summary>Waiting for its <c>sendAt</c> time.</summary>
    Scheduled,
    /// <summary>Stored and waiting for a delivery worker.</summary>
    Queued,
    /// <summary>A worker is in the SMTP dialogue for it.</summary>
    Sending,
    /// <summary>A transient failure; retried at <c>nextAttemptAt</c>.</summary>
    Deferred,
    /// <summary>Every recipient accepted by the upstream.</summary>
    Sent,
    /// <summary>Some recipients accepted, the rest rejected for good.</summary>
    PartiallySent,
    /// <summary>No recipient accepted, or a permanent error.</summary>
    Failed,
    /// <summary>Canceled by the caller before it was sent.</summary>
    Canceled,
    /// <summary>The relay took it, then every recipient it took bounced (and none is left accepted).</summary>
    Bounced,
}

/// <summary>What the upstream said about one recipient.</summary>
public enum RecipientStatus
{
    /// <summary>Not offered to the upstream yet.</summary>
    Pending,
    /// <summary>The upstream took the message for this recipient.</summary>
    Accepted,
    /// <summary>A 4yz reply: offered again on the next attempt.</summary>
    Deferred,
    /// <summary>A 5yz reply: never offered again.</summary>
    Rejected,
    /// <summary>On the key's suppression list: never offered to the relay.</summary>
    Suppressed,
    /// <summary>Accepted by the relay, then refused further on: a bounce report said so.</summary>
    Bounced,
}

/// <summary>The sets of statuses the service reasons about, each named once (the store, the job and the API share them).</summary>
public static class MessageStatuses
{
    /// <summary>Waiting for a delivery job: what a job may take, and what the caller may cancel.</summary>
    public static readonly IReadOnlyList<MessageStatus> Waiting = [MessageStatus.Scheduled, MessageStatus.Queued, MessageStatus.Deferred];

    /// <summary>Not final: what back-pressure counts and the orphan sweep looks at.</summary>
    public static readonly IReadOnlyList<MessageStatus> Pending = [.. Waiting, MessageStatus.Sending];

    /// <summary>The statuses no delivery takes a message out of (a bounce report may still turn sent into partially_sent or bounced).</summary>
    public static readonly IReadOnlyList<MessageStatus> Final =
        [MessageStatus.Sent, MessageStatus.PartiallySent, MessageStatus.Failed, MessageStatus.Canceled, MessageStatus.Bounced];

    private static readonly string[] Names = Enum.GetValues<MessageStatus>().Select(s => JsonNamingPolicy.SnakeCaseLower.ConvertName(s.ToString())).ToArray();

    /// <summary>True for the statuses a message never leaves.</summary>
    public static bool IsFinal(this MessageStatus status) =>
        status is MessageStatus.Sent or MessageStatus.PartiallySent or MessageStatus.Failed or MessageStatus.Canceled or MessageStatus.Bounced;

    /// <summary>True for the statuses a delivery job may take a message from (and a caller may cancel it in).</summary>
    public static bool IsWaiting(this MessageStatus status) =>
        status is MessageStatus.Scheduled or MessageStatus.Queued or MessageStatus.Deferred;

    /// <summary>
    /// The final status a message's recipients add up to once none is left to offer (docs/delivery.md, "Statuses"): sent when
    /// the relay took every one, partially_sent when it took some, bounced when it took none that did not bounce later and one
    /// at least bounced, failed otherwise. Delivery, the suppression check and bounce reports all end a message by this rule.
    /// </summary>
    public static MessageStatus FinalFrom(IReadOnlyCollection<RecipientState> recipients) =>
        recipients.Any(r => r.Status == RecipientStatus.Accepted)
            ? recipients.All(r => r.Status == RecipientStatus.Accepted) ? MessageStatus.Sent : MessageStatus.PartiallySent
            : recipients.Any(r => r.Status == RecipientStatus.Bounced) ? MessageStatus.Bounced : MessageStatus.Failed;

    /// <summary>The status as the API and the store spell it: <c>partially_sent</c>.</summary>
    public static string Name(this MessageStatus status) => Names[(int)status];
}
