using MailApi.Delivery;
using MailApi.Storage;
using Microsoft.Extensions.Options;

namespace MailApi.Messages;

/// <summary>Turns a validated request into a stored message and hands its id to the delivery queue.</summary>
public sealed class MessageSubmitter(
    IMessageStore store,
    IDeliveryQueue queue,
    IOptions<SmtpOptions> smtp,
    IOptions<LimitsOptions> limits,
    TimeProvider clock,
    ILogger<MessageSubmitter> logger)
{
    /// <summary>Outcome of a submission: the stored message, or why nothing was stored.</summary>
    public sealed record Result(StoredMessage? Message, bool Overloaded);

    public async Task<Result> SubmitAsync(SendMessageRequest request, string owner, CancellationToken cancellationToken)
    {
        if (await store.CountPendingAsync(cancellationToken) >= limits.Value.MaxPendingMessages)
        {
            return new Result(null, Overloaded: true);
        }

        var now = clock.GetUtcNow();
        var id = Guid.CreateVersion7(now);
        var content = ToContent(request);
        var scheduled = request.SendAt is { } sendAt && sendAt > now;
        var message = new StoredMessage
        {
            Id = id,
            Owner = owner,
            Status = scheduled ? MessageStatus.Scheduled : MessageStatus.Queued,
            CreatedAt = now,
            UpdatedAt = now,
            SendAt = request.SendAt?.ToUniversalTime(),
            Content = content,
            MessageId = $"<{id}@{smtp.Value.MessageIdDomain ?? DomainOf(content.From)}>",
            Recipients = content.To.Concat(content.Cc).Concat(content.Bcc)
                .Select(Mailboxes.Address)
                .Distinct(StringComparer.OrdinalIgnoreCase)
                .Select(a => new RecipientState(a, RecipientStatus.Pending, null))
                .ToList(),
        };

        await store.AddAsync(message, cancellationToken);
        if (scheduled)
        {
            queue.Schedule(id, message.SendAt!.Value);
        }
        else
        {
            queue.Enqueue(id);
        }
        logger.LogInformation("Message {MessageId} accepted from key {KeyName} for {RecipientCount} recipient(s), {Status}",
            id, owner, message.Recipients.Count, message.Status);
        return new Result(message with { Version = 1 }, Overloaded: false);
    }

    private static MessageContent ToContent(SendMessageRequest r) => new()
    {
        From = r.From!,
        To = NonNull(r.To),
        Cc = NonNull(r.Cc),
        Bcc = NonNull(r.Bcc),
        ReplyTo = NonNull(r.ReplyTo),
        Subject = r.Subject!,
        Text = LineEnds.ToCrlf(r.Text),
        Html = LineEnds.ToCrlf(r.Html),
        Headers = (r.Headers ?? []).ToDictionary(h => h.Key, h => h.Value!),
        Attachments = (r.Attachments ?? [])
            .Select(a => new AttachmentContent(a!.Filename!, a.ContentType, Convert.FromBase64String(a.Content!), a.ContentId))
            .ToList(),
        Tags = NonNull(r.Tags),
        Metadata = (r.Metadata ?? []).ToDictionary(m => m.Key, m => m.Value!),
    };

    private static List<string> NonNull(List<string?>? values) => values?.Select(v => v!).ToList() ?? [];

    private static string DomainOf(string from) => Mailboxes.TryParse(from)!.Domain;
}
