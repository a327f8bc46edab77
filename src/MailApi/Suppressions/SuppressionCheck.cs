using MailApi.Storage;
using MailApi.Telemetry;

namespace MailApi.Suppressions;

/// <summary>
/// What the suppression list does to messages: a recipient on its key's list is <c>suppressed</c>, never offered to the
/// relay, checked at submit (one lookup for the whole request) and again before a retry or a scheduled send. A message
/// left with no recipient to offer is final at once, without a dialogue.
/// </summary>
public sealed class SuppressionCheck(ISuppressionStore store, MailApiMetrics metrics, TimeProvider clock)
{
    /// <summary>
    /// New messages of <paramref name="owner"/> with every recipient on the list marked <c>suppressed</c>, in one lookup for
    /// them all; a message left with no recipient to offer is <c>failed</c> at once (no attempt, no connection).
    /// </summary>
    public async Task<List<StoredMessage>> ApplyAsync(List<StoredMessage> messages, string owner, CancellationToken cancellationToken)
    {
        var addresses = messages.SelectMany(Offerable).Select(r => SuppressionAddress.Of(r.Address)).ToHashSet();
        var found = await store.FindAsync(owner, addresses, clock.GetUtcNow(), cancellationToken);
        return found.Count == 0 ? messages : messages.ConvertAll(m => Suppress(m, found, m.UpdatedAt));
    }

    /// <summary>
    /// A message about to be offered again (a retry, or a scheduled send) with the recipients suppressed since it was
    /// submitted marked so. A first send of a message queued at submit needs no second look: the submit's was just now.
    /// </summary>
    public async Task<StoredMessage> ApplyBeforeSendingAsync(StoredMessage message, CancellationToken cancellationToken)
    {
        if (message.Attempts.Count == 0 && message.SendAt is null)
        {
            return message;
        }
        var now = clock.GetUtcNow();
        var found = await store.FindAsync(message.Owner, message.Recipients.Where(IsOfferable).Select(r => SuppressionAddress.Of(r.Address)).ToList(),
            now, cancellationToken);
        return found.Count == 0 ? message : Suppress(message, found, now);
    }

    private StoredMessage Suppress(StoredMessage message, IReadOnlyDictionary<string, StoredSuppression> found, DateTimeOffset now)
    {
        var suppressed = 0;
        var recipients = message.Recipients.Select(r =>
        {
            if (!IsOfferable(r) || !found.TryGetValue(SuppressionAddress.Of(r.Address), out var entry))
            {
                return r;
            }
            suppressed++;
            return r with { Status = RecipientStatus.Suppressed, Suppression = new RecipientSuppression(entry.Reason, entry.CreatedAt) };
        }).ToList();
        if (suppressed == 0)
        {
            return message;
        }
        metrics.Suppressed(suppressed);
        if (recipients.Any(IsOfferable))
        {
            return message with { Recipients = recipients };
        }
        // No one left to offer it to: final without a dialogue, sent to those an earlier attempt delivered it to, if any.
        return message with
        {
            Recipients = recipients,
            Status = MessageStatuses.FinalFrom(recipients),
            UpdatedAt = now,
            NextAttemptAt = null,
        };
    }

    private static bool IsOfferable(RecipientState r) => r.Status is RecipientStatus.Pending or RecipientStatus.Deferred;

    private static IEnumerable<RecipientState> Offerable(StoredMessage m) => m.Recipients.Where(IsOfferable);
}
