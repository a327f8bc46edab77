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

    /// <summary>One line per accepted message; defined once so a POST neither boxes its values nor parses the template.</summary>
    private static readonly Action<ILogger, Guid, string, int, MessageStatus, Exception?> Accepted =
        LoggerMessage.Define<Guid, string, int, MessageStatus>(LogLevel.Information, new EventId(0),
            "Message {MessageId} accepted from key {KeyName} for {RecipientCount} recipient(s), {Status}");

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
        var messages = new List<StoredMessage>(requests.Count);
        foreach (var request in requests)
        {
            messages.Add(ToMessage(request, owner, now));
        }
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
            Accepted(logger, message.Id, owner, message.Recipients.Count, message.Status, null);
        }
        return new Result(Outcome.Created, added.Messages);
    }

    private StoredMessage ToMessage(SendMessageRequest request, string owner, DateTimeOffset now)
    {
        var id = Guid.CreateVersion7(now);
        var content = ToContent(request);
        var sender = Mailboxes.AddressAndDomain(content.From);
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
            Recipients = Recipients(content),
        };
    }

    /// <summary>To, Cc and Bcc in that order, each address once (the first spelling wins, case ignored).</summary>
    private static List<RecipientState> Recipients(MessageContent content)
    {
        var count = content.To.Count + content.Cc.Count + content.Bcc.Count;
        var recipients = new List<RecipientState>(count);
        // A set only pays for itself beyond a handful of recipients; below that a scan is cheaper.
        var seen = count > 8 ? new HashSet<string>(count, StringComparer.OrdinalIgnoreCase) : null;
        foreach (var list in (ReadOnlySpan<IReadOnlyList<string>>)[content.To, content.Cc, content.Bcc])
        {
            foreach (var mailbox in list)
            {
                var address = Mailboxes.Address(mailbox);
                if (seen?.Add(address) ?? !Contains(recipients, address))
                {
                    recipients.Add(new RecipientState(address, RecipientStatus.Pending, null));
                }
            }
        }
        return recipients;
    }

    private static bool Contains(List<RecipientState> recipients, string address)
    {
        foreach (var recipient in recipients)
        {
            if (string.Equals(recipient.Address, address, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
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
        Headers = NonNull(r.Headers),
        Attachments = r.Attachments is null ? new List<AttachmentContent>() : r.Attachments
            .ConvertAll(a => new AttachmentContent(a!.Filename!, a.ContentType, Convert.FromBase64String(a.Content!), a.ContentId)),
        Tags = NonNull(r.Tags),
        Metadata = NonNull(r.Metadata),
    };

    private static List<string> NonNull(List<string?>? values) => values is null ? [] : values.ConvertAll(v => v!);

    private static Dictionary<string, string> NonNull(Dictionary<string, string?>? values) =>
        values is null ? new Dictionary<string, string>() : values.ToDictionary(p => p.Key, p => p.Value!);

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
