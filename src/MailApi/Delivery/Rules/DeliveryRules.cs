using MailApi.Delivery.Smtp;
using MailApi.Storage;

namespace MailApi.Delivery.Rules;

/// <summary>
/// The delivery rules of the contract, as a pure function from (message, attempt) to the next state:
/// 2yz goes on; a 5yz to MAIL FROM, DATA or the end of data fails the message; a 5yz to a RCPT rejects that
/// recipient only; anything else that breaks the dialogue (4yz, 421, refused, timeout, TLS, AUTH) defers it.
/// </summary>
public static class DeliveryRules
{
    public static StoredMessage Apply(
        StoredMessage message, AttemptResult attempt, DeliveryOptions options, DateTimeOffset startedAt, DateTimeOffset now)
    {
        var final = attempt.FinalReply;
        var rejection = attempt.PermanentRejection;
        var delivered = final is { IsPositive: true };

        var recipients = message.Recipients.Select(r =>
        {
            if (r.Status is RecipientStatus.Accepted or RecipientStatus.Rejected)
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
                { IsTransient: true } => r with { Status = RecipientStatus.Deferred, Reply = Stored(rcpt) },
                _ when delivered => r with { Status = RecipientStatus.Accepted, Reply = Stored(rcpt) },
                _ when rejection is not null => r with { Status = RecipientStatus.Rejected, Reply = Stored(rejection) },
                // The relay took the RCPT but the transaction did not complete: offer it again.
                _ => r with { Status = RecipientStatus.Deferred, Reply = Stored(final ?? rcpt) },
            };
        }).ToList();

        var retriesUsed = message.Attempts.Count;
        var open = recipients.Any(r => r.Status is RecipientStatus.Pending or RecipientStatus.Deferred);
        var canRetry = retriesUsed < options.EffectiveRetryDelays.Count && now - message.CreatedAt < options.MaxAge;
        if (open && !canRetry)
        {
            // Given up: no recipient is left waiting for an attempt that will never come. The last reply stays.
            recipients = recipients
                .Select(r => r.Status is RecipientStatus.Pending or RecipientStatus.Deferred ? r with { Status = RecipientStatus.Rejected } : r)
                .ToList();
        }
        var status = open && canRetry
            ? MessageStatus.Deferred
            : recipients.Any(r => r.Status == RecipientStatus.Accepted)
                ? recipients.All(r => r.Status == RecipientStatus.Accepted) ? MessageStatus.Sent : MessageStatus.PartiallySent
                : MessageStatus.Failed;

        var record = new DeliveryAttempt
        {
            Number = message.Attempts.Count + 1,
            StartedAt = startedAt,
            FinishedAt = now,
            Outcome = status,
            // Giving up is said after what ended this attempt, never instead of it.
            Error = open && !canRetry ? string.Join(' ', new[] { attempt.Error, GiveUpReason(message, options, now) }.OfType<string>()) : attempt.Error,
            Upstream = attempt.Upstream,
            ConnectionId = attempt.ConnectionId,
            ReusedConnection = attempt.ReusedConnection,
            Transcript = attempt.Transcript.Select(e => new StoredTranscriptEntry(e.Command, Stored(e.Reply))).ToList(),
        };
        return message with
        {
            Status = status,
            UpdatedAt = now,
            Recipients = recipients,
            Attempts = [.. message.Attempts, record],
            Upstream = attempt.Upstream,
            FinalReply = Stored(final) ?? message.FinalReply,
            QueueId = delivered ? QueueIdParser.Parse(final!.Text) : message.QueueId,
            SentAt = delivered ? now : message.SentAt,
            NextAttemptAt = status == MessageStatus.Deferred ? now + options.EffectiveRetryDelays[retriesUsed] : null,
            // An earlier attempt lost the connection after the end of data; this one delivered again.
            PossibleDuplicate = message.PossibleDuplicate || (delivered && message.Attempts.Any(WasUnconfirmed)),
        };
    }

    /// <summary>The protocol's reply as the store keeps it.</summary>
    private static StoredReply? Stored(SmtpReply? reply) => reply is null ? null : new(reply.Code, reply.EnhancedCode, reply.Text);

    private static bool WasUnconfirmed(DeliveryAttempt attempt) =>
        attempt.Interrupted || attempt.Transcript.Any(e => e.Command == "." && e.Reply is null);

    private static string GiveUpReason(StoredMessage message, DeliveryOptions options, DateTimeOffset now) =>
        now - message.CreatedAt >= options.MaxAge
            ? $"Gave up: the message is older than Delivery:MaxAge ({options.MaxAge})."
            : $"Gave up after {message.Attempts.Count + 1} attempts (Delivery:RetryDelays).";
}
