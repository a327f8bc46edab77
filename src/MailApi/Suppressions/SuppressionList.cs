using MailApi.Delivery.Smtp;
using MailApi.Storage;
using MailApi.Webhooks;

namespace MailApi.Suppressions;

/// <summary>
/// What changes the suppression list. A <c>5.1.x</c> reply to RCPT TO (the address does not exist) puts the address on it;
/// a <c>5.7.x</c> (policy: the sender or the content was refused) never does; bounces and complaints add through
/// <see cref="AddAsync"/> (soft bounces by way of <see cref="SoftBounces"/>); the caller puts and deletes entries. Every
/// entry made or removed is an event (<see cref="Created"/>, <see cref="Deleted"/>) for the key's webhooks. What the list
/// does to messages is <see cref="SuppressionCheck"/>'s.
/// </summary>
public sealed class SuppressionList(ISuppressionStore store, WebhookDispatcher webhooks, WebhookOwners owners, TimeProvider clock,
    ILogger<SuppressionList> logger)
{
    public const string Created = "suppression.created";
    public const string Deleted = "suppression.deleted";

    /// <summary>
    /// After an attempt was recorded: each recipient the relay refused with a <c>5.1.x</c> at RCPT TO goes on the list
    /// (reason <c>rejected</c>), unless a live entry has it already. Failures are logged, never thrown: the attempt stands.
    /// </summary>
    public async Task RecordRejectionsAsync(StoredMessage saved, AttemptResult attempt, CancellationToken cancellationToken)
    {
        foreach (var recipient in saved.Recipients)
        {
            if (recipient.Status != RecipientStatus.Rejected || attempt.RecipientReply(recipient.Address) is not { } reply || !IsUnknownAddress(reply))
            {
                continue;
            }
            var now = clock.GetUtcNow();
            await AddAsync(new StoredSuppression
            {
                Owner = saved.Owner,
                Address = SuppressionAddress.Of(recipient.Address),
                Id = Guid.CreateVersion7(now),
                Reason = SuppressionReason.Rejected,
                CreatedAt = now,
                Source = new SuppressionSource(saved.Id, reply.EnhancedCode, $"smtp; {reply.Code} {reply.EnhancedCode} {reply.Text}"),
            }, cancellationToken);
        }
    }

    /// <summary>
    /// An entry made by what happened to a message (a refusal in the dialogue, a bounce, a complaint): stored unless a live
    /// entry has the address already (which is kept), then its event. True when the list has the address now (this entry
    /// or the one it had); false when storing failed, which is logged, never thrown.
    /// </summary>
    public async Task<bool> AddAsync(StoredSuppression entry, CancellationToken cancellationToken)
    {
        try
        {
            if (await store.AddIfAbsentAsync(entry, entry.CreatedAt, cancellationToken))
            {
                logger.LogInformation("{Address} is suppressed for key {KeyName}: {Reason} ({Status}, message {MessageId})",
                    entry.Address, entry.Owner, entry.Reason.Name(), entry.Source?.Status, entry.Source?.MessageId);
                await PublishAsync(Created, entry, cancellationToken);
            }
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning("Putting {Address} on the suppression list of key {KeyName} failed ({Error})", entry.Address, entry.Owner, ex.Message);
            return false;
        }
    }

    /// <summary><c>PUT</c>: stores the entry, replacing any; true when the address was not suppressed before.</summary>
    public async Task<bool> PutAsync(StoredSuppression entry, CancellationToken cancellationToken)
    {
        var created = await store.PutAsync(entry, clock.GetUtcNow(), cancellationToken);
        await PublishAsync(Created, entry, cancellationToken);
        return created;
    }

    /// <summary><c>DELETE</c>: the entry removed, or null when the address was not suppressed.</summary>
    public async Task<StoredSuppression?> RemoveAsync(string owner, string address, CancellationToken cancellationToken)
    {
        var removed = await store.DeleteAsync(owner, address, clock.GetUtcNow(), cancellationToken);
        if (removed is not null)
        {
            await PublishAsync(Deleted, removed, cancellationToken);
        }
        return removed;
    }

    /// <summary>
    /// A reply that says the address does not exist: <c>5.1.x</c> (RFC 3463 "addressing status"), except <c>5.1.7</c> and
    /// <c>5.1.8</c>, which are about the sender's address (Postfix refuses a bad sender at RCPT TO, after MAIL FROM).
    /// </summary>
    public static bool IsUnknownAddress(SmtpReply reply) =>
        reply.IsPermanent && reply.EnhancedCode is { } code && code.StartsWith("5.1.", StringComparison.Ordinal) && code is not ("5.1.7" or "5.1.8");

    /// <summary>The event goes out after the list changed; one lost to a crash in between is not sent (the list is right).</summary>
    private async Task PublishAsync(string type, StoredSuppression entry, CancellationToken cancellationToken)
    {
        if (!owners.MayHaveEndpoints(entry.Owner))
        {
            return;
        }
        try
        {
            await webhooks.PublishAsync(entry.Owner, type, SuppressionResource.Of(entry), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning("The {Type} event of {Address} (key {KeyName}) could not be queued for its webhooks ({Error})",
                type, entry.Address, entry.Owner, ex.Message);
        }
    }

}
