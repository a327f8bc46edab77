using MailApi.Delivery.Smtp;
using MailApi.Storage;

namespace MailApi.Delivery.Rules;

/// <summary>
/// The delivery rules (docs/delivery.md, "Delivery rules"), as a pure function from (message, attempt) to the next
/// state: 2yz goes on; a 5yz to MAIL FROM, DATA or the end of data fails the message; a 5yz to a RCPT rejects that
/// recipient only; anything else that breaks the dialogue (4yz, 421, refused, timeout, TLS, AUTH) defers it.
/// One run of the job may try several relays (failover): each is an attempt of its own, the last one decides.
/// </summary>
public static class DeliveryRules
{
    /// <summary>
    /// The message after the relays of one run were tried, in order: every relay but the last failed before taking
    /// anything and is recorded as an attempt that <see cref="DeliveryAttempt.FailedOver"/>; the last one's replies
    /// decide the recipients and the status. Only the last counts against <see cref="DeliveryOptions.RetryDelays"/>.
    /// </summary>
    public static StoredMessage Apply(
        StoredMessage message, IReadOnlyList<AttemptResult> attempts, DeliveryOptions options, DateTimeOffset startedAt, DateTimeOffset now)
    {
        var failedOver = attempts.Take(attempts.Count - 1)
            .Select((a, i) => Record(a, message.Attempts.Count + 1 + i, MessageStatus.Deferred, a.Error, startedAt, now) with { FailedOver = true })
            .ToList();
        var attempt = attempts[^1];
        var final = attempt.FinalReply;
        var rejection = attempt.PermanentRejection;
        var delivered = final is { IsPositive: true };

        var recipients = message.Recipients.Select(r =>
        {
            if (r.Status is RecipientStatus.Accepted or RecipientStatus.Rejected or RecipientStatus.Suppressed)
            {
                return r;
            }
            if (attempt.Undeliverable)
            {
                return r with { Status = RecipientStatus.Rejected };
            }
            var rcpt = attempt.RecipientReply(r.Address);
            return rcpt switch
            {
                null when rejection is not null => r with { Status = RecipientStatus.Rejected, Reply = Stored(rejection) },
                null => r,
                { IsPermanent: true } => r with { Status = RecipientStatus.Rejected, Reply = Stored(rcpt) },
                // The relay's limit of recipients in one transaction (RFC 5321 §4.5.3.1.10): the rest go in the next one.
                { Code: 452 } when delivered && IsTooManyRecipients(rcpt) => r with { Status = RecipientStatus.Pending, Reply = Stored(rcpt) },
                { IsTransient: true } => r with { Status = RecipientStatus.Deferred, Reply = Stored(rcpt) },
                _ when delivered => r with { Status = RecipientStatus.Accepted, Reply = Stored(rcpt) },
                _ when rejection is not null => r with { Status = RecipientStatus.Rejected, Reply = Stored(rejection) },
                // The relay took the RCPT but the transaction did not complete: offer it again.
                _ => r with { Status = RecipientStatus.Deferred, Reply = Stored(final ?? rcpt) },
            };
        }).ToList();

        var retriesUsed = Retries(message);
        var open = recipients.Any(r => r.Status is RecipientStatus.Pending or RecipientStatus.Deferred);
        // The relay took the message for some recipients and said 452 to the others: another transaction follows at once
        // (the job goes on with the message still sending), without waiting for a retry or counting against them.
        var more = recipients.Any(r => r.Status == RecipientStatus.Pending && r.Reply is { Code: 452 });
        var canRetry = retriesUsed < options.EffectiveRetryDelays.Count && now - message.CreatedAt < options.MaxAge;
        if (open && !canRetry && !more)
        {
            // Given up: no recipient is left waiting for an attempt that will never come. The last reply stays.
            recipients = recipients
                .Select(r => r.Status is RecipientStatus.Pending or RecipientStatus.Deferred ? r with { Status = RecipientStatus.Rejected } : r)
                .ToList();
        }
        var status = more
            ? MessageStatus.Sending
            : open && canRetry
                ? MessageStatus.Deferred
                : MessageStatuses.FinalFrom(recipients);

        // Giving up is said after what ended this attempt, never instead of it.
        var error = open && !canRetry && !more ? string.Join(' ', new[] { attempt.Error, GiveUpReason(message, options, now) }.OfType<string>()) : attempt.Error;
        var record = Record(attempt, message.Attempts.Count + failedOver.Count + 1, status, error, startedAt, now);
        return message with
        {
            Status = status,
            UpdatedAt = now,
            Recipients = recipients,
            Attempts = [.. message.Attempts, .. failedOver, record],
            Upstream = attempt.Upstream,
            FinalReply = Stored(final) ?? message.FinalReply,
            QueueId = delivered ? QueueIdParser.Parse(final!.Text) : message.QueueId,
            SentAt = delivered ? now : message.SentAt,
            NextAttemptAt = status == MessageStatus.Deferred ? now + options.EffectiveRetryDelays[retriesUsed] : null,
            // An earlier attempt lost the connection after the end of data; this one delivered again.
            PossibleDuplicate = message.PossibleDuplicate || (delivered && message.Attempts.Any(WasUnconfirmed)),
        };
    }

    /// <summary>The attempts that count against the retry schedule: not those after which the next relay was tried at once.</summary>
    /// <remarks>Nor those whose outcome is <c>sending</c>: the relay took some recipients and the rest followed at once.</remarks>
    private static int Retries(StoredMessage message) => message.Attempts.Count(a => !a.FailedOver && a.Outcome != MessageStatus.Sending);

    /// <summary>A 452 to RCPT that is the relay's recipient limit: <c>4.5.3</c> ("too many recipients"), or no enhanced code.</summary>
    private static bool IsTooManyRecipients(SmtpReply reply) => reply.Code == 452 && reply.EnhancedCode is null or "4.5.3";

    private static DeliveryAttempt Record(AttemptResult attempt, int number, MessageStatus outcome, string? error,
        DateTimeOffset startedAt, DateTimeOffset now) => new()
        {
            Number = number,
            StartedAt = attempt.StartedAt ?? startedAt,
            FinishedAt = attempt.FinishedAt ?? now,
            Outcome = outcome,
            Error = error,
            Upstream = attempt.Upstream,
            ConnectionId = attempt.ConnectionId,
            ReusedConnection = attempt.ReusedConnection,
            Transcript = attempt.Transcript.Select(e => new StoredTranscriptEntry(e.Command, Stored(e.Reply))).ToList(),
        };

    /// <summary>The protocol's reply as the store keeps it.</summary>
    private static StoredReply? Stored(SmtpReply? reply) => reply is null ? null : new(reply.Code, reply.EnhancedCode, reply.Text);

    private static bool WasUnconfirmed(DeliveryAttempt attempt) =>
        attempt.Interrupted || attempt.Transcript.Any(e => e.Command == "." && e.Reply is null);

    private static string GiveUpReason(StoredMessage message, DeliveryOptions options, DateTimeOffset now) =>
        now - message.CreatedAt >= options.MaxAge
            ? $"Gave up: the message is older than Delivery:MaxAge ({options.MaxAge})."
            : $"Gave up after {Retries(message) + 1} attempts (Delivery:RetryDelays).";
}
