using System.Security.Cryptography;
using System.Text.Json;
using MailApi.Delivery;
using MailApi.Hosting;
using MailApi.Storage;
using Microsoft.Extensions.Options;

namespace MailApi.Messages;

/// <summary>Turns validated requests into stored messages and hands their ids to the delivery queue.</summary>
public sealed class MessageSubmitter(
    IMessageStore store,
    IDeliveryQueue queue,
    IOptions<SmtpOptions> smtp,
    IOptions<LimitsOptions> limits,
    TimeProvider clock,
    ILogger<MessageSubmitter> logger)
{
    /// <summary>How long an <c>Idempotency-Key</c> is remembered.</summary>
    public static readonly TimeSpan IdempotencyWindow = TimeSpan.FromHours(24);

    private static readonly JsonSerializerOptions HashJson = CreateHashJson();

    public enum Outcome
    {
        /// <summary>Stored now and queued.</summary>
        Created,
        /// <summary>The same Idempotency-Key and body came before: the earlier messages.</summary>
        Replayed,
        /// <summary>The Idempotency-Key came before with a different body: nothing stored.</summary>
        KeyReused,
        /// <summary>Too many messages wait to be sent: nothing stored.</summary>
        Overloaded,
    }

    public sealed record Result(Outcome Outcome, IReadOnlyList<StoredMessage> Messages);

    /// <summary>
    /// Stores <paramref name="requests"/> all or none, then queues them. An <paramref name="idempotencyKey"/>
    /// (already checked to be 1-255 printable ASCII characters) makes a repeat of the same requests a replay.
    /// </summary>
    public async Task<Result> SubmitAsync(
        IReadOnlyList<SendMessageRequest> requests, string owner, string? idempotencyKey, CancellationToken cancellationToken)
    {
        if (await store.CountPendingAsync(cancellationToken) + requests.Count > limits.Value.MaxPendingMessages)
        {
            return new Result(Outcome.Overloaded, []);
        }

        var now = clock.GetUtcNow();
        var messages = requests.Select(r => ToMessage(r, owner, now)).ToList();
        var claim = idempotencyKey is null ? null : new IdempotencyClaim(owner, idempotencyKey, Hash(requests), now + IdempotencyWindow);
        var added = await store.AddAsync(messages, claim, cancellationToken);
        if (!added.Created)
        {
            return new Result(added.ExistingRequestHash == claim!.RequestHash ? Outcome.Replayed : Outcome.KeyReused, added.Messages);
        }

        foreach (var message in added.Messages)
        {
            if (message.Status == MessageStatus.Scheduled)
            {
                queue.Schedule(message.Id, message.SendAt!.Value);
            }
            else
            {
                queue.Enqueue(message.Id);
            }
            logger.LogInformation("Message {MessageId} accepted from key {KeyName} for {RecipientCount} recipient(s), {Status}",
                message.Id, owner, message.Recipients.Count, message.Status);
        }
        return new Result(Outcome.Created, added.Messages);
    }

    private StoredMessage ToMessage(SendMessageRequest request, string owner, DateTimeOffset now)
    {
        var id = Guid.CreateVersion7(now);
        var content = ToContent(request);
        var sender = Mailboxes.TryParse(content.From)!;
        var scheduled = request.SendAt is { } sendAt && sendAt > now;
        return new StoredMessage
        {
            Id = id,
            Owner = owner,
            Status = scheduled ? MessageStatus.Scheduled : MessageStatus.Queued,
            CreatedAt = now,
            UpdatedAt = now,
            SendAt = request.SendAt?.ToUniversalTime(),
            Content = content,
            Sender = sender.Address,
            MessageId = $"<{id}@{smtp.Value.MessageIdDomain ?? sender.Domain}>",
            Recipients = content.To.Concat(content.Cc).Concat(content.Bcc)
                .Select(Mailboxes.Address)
                .Distinct(StringComparer.OrdinalIgnoreCase)
                .Select(a => new RecipientState(a, RecipientStatus.Pending, null))
                .ToList(),
        };
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

    /// <summary>A digest of the requests as bound, so the same body with other whitespace is still "the same body".</summary>
    private static string Hash(IReadOnlyList<SendMessageRequest> requests) =>
        Convert.ToHexString(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(requests, HashJson)));

    private static JsonSerializerOptions CreateHashJson()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        HostingExtensions.ConfigureJson(options);
        return options;
    }
}
