using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MailApi.Delivery;
using MailApi.Delivery.Smtp;
using MailApi.Http;
using MailApi.Storage;
using MailApi.Suppressions;
using MailApi.Telemetry;
using Microsoft.Extensions.Options;

namespace MailApi.Messages;

/// <summary>Turns validated requests into stored messages and hands their ids to the delivery queue.</summary>
public sealed class MessageSubmitter(
    IMessageStore store,
    BacklogGauge gauge,
    MailApiMetrics metrics,
    IDeliveryQueue queue,
    SuppressionCheck suppressions,
    IOptions<SmtpOptions> smtp,
    IOptions<LimitsOptions> limits,
    TimeProvider clock,
    ILogger<MessageSubmitter> logger)
{
    /// <summary>How long an <c>Idempotency-Key</c> is remembered.</summary>
    public static readonly TimeSpan IdempotencyWindow = TimeSpan.FromHours(24);

    /// <summary>
    /// One line per accepted message, at Debug: the line an operator reads per message is its delivery outcome (the job's,
    /// with the queue id). Two console lines per message at Information cost the busy service a fifth of its intake (the
    /// console logger's queue lock, contended by every request and worker). Defined once so a POST neither boxes its
    /// values nor parses the template.
    /// </summary>
    private static readonly Action<ILogger, Guid, string, int, MessageStatus, Exception?> Accepted =
        LoggerMessage.Define<Guid, string, int, MessageStatus>(LogLevel.Debug, new EventId(0),
            "Message {MessageId} accepted from key {KeyName} for {RecipientCount} recipient(s), {Status}");

    public enum Outcome
    {
        /// <summary>Stored now and queued.</summary>
        Created,
        /// <summary>The same Idempotency-Key and body came before: the earlier messages.</summary>
        Replayed,
        /// <summary>The Idempotency-Key came before with a different body: nothing stored.</summary>
        KeyReused,
        /// <summary>Too many messages, or too many bytes of content, wait to be sent: nothing stored.</summary>
        Overloaded,
    }

    /// <param name="Outcome">What became of the requests.</param>
    /// <param name="Messages">The stored messages (or the earlier ones of a replay), in request order.</param>
    /// <param name="Overload">With <see cref="Outcome.Overloaded"/>: which limit was reached, for the caller.</param>
    public sealed record Result(Outcome Outcome, IReadOnlyList<StoredMessage> Messages, string? Overload = null);

    /// <summary>
    /// Stores <paramref name="requests"/> all or none, then queues them. An <paramref name="idempotencyKey"/>
    /// (already checked to be 1-255 printable ASCII characters) makes a repeat of the same requests a replay.
    /// </summary>
    /// <remarks>
    /// Once the messages are stored the answer is theirs, whatever happens to the queueing: a message stored without its
    /// job is found by the orphan sweep, while an error answer would make the caller send it again.
    /// </remarks>
    public async Task<Result> SubmitAsync(
        IReadOnlyList<SendMessageRequest> requests, string owner, string? idempotencyKey, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var messages = new List<StoredMessage>(requests.Count);
        foreach (var request in requests)
        {
            messages.Add(ToMessage(request, owner, now));
        }
        // Recipients on the key's suppression list are never offered; a message left with none is failed already.
        messages = await suppressions.ApplyAsync(messages, owner, cancellationToken);
        var waiting = messages.Count(m => !m.Status.IsFinal());
        var bytes = messages.Where(m => !m.Status.IsFinal()).Sum(m => m.ContentBytes);
        var backlog = await gauge.CurrentAsync(cancellationToken);
        if (backlog.Messages + waiting > limits.Value.MaxPendingMessages)
        {
            return new Result(Outcome.Overloaded, [], $"{backlog.Messages} messages wait to be sent; Limits:MaxPendingMessages allows {limits.Value.MaxPendingMessages}.");
        }
        if (backlog.Bytes + bytes > limits.Value.MaxPendingBytes)
        {
            return new Result(Outcome.Overloaded, [], $"{backlog.Bytes} bytes of content wait to be sent; Limits:MaxPendingBytes allows {limits.Value.MaxPendingBytes}.");
        }

        var claim = idempotencyKey is null ? null : new IdempotencyClaim(owner, idempotencyKey, Hash(requests), now + IdempotencyWindow);
        var added = await store.AddAsync(messages, claim, cancellationToken);
        if (!added.Created)
        {
            return new Result(added.ExistingRequestHash == claim!.RequestHash ? Outcome.Replayed : Outcome.KeyReused, added.Messages);
        }
        gauge.Stored(waiting, bytes);
        metrics.Accepted(added.Messages.Count);
        MailApiTracing.Stored(added.Messages);

        foreach (var message in added.Messages)
        {
            Accepted(logger, message.Id, owner, message.Recipients.Count, message.Status, null);
            if (message.Status.IsFinal())
            {
                metrics.Finished(message);
            }
        }
        // The due ones in shared jobs (with other requests' of this moment); likewise those that share one sendAt.
        foreach (var group in added.Messages.Where(m => !m.Status.IsFinal()).GroupBy(m => m.Status == MessageStatus.Scheduled ? m.SendAt : null))
        {
            var ids = group.Select(m => m.Id).ToList();
            await QueueAsync(ids[0], group.Key is { } at ? () => queue.ScheduleAsync(ids, at) : () => queue.EnqueueAsync(ids));
        }
        return new Result(Outcome.Created, added.Messages);
    }

    private StoredMessage ToMessage(SendMessageRequest request, string owner, DateTimeOffset now)
    {
        var id = MessageOrder.NewId(now);
        var content = ToContent(request);
        var sender = Mailboxes.AddressAndDomain(content.From);
        var scheduled = request.SendAt is { } sendAt && sendAt > now;
        return new StoredMessage
        {
            ContentBytes = ContentBytes(content),
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

    /// <summary>Hands messages to the queue; a failure there leaves them stored and waiting, for the orphan sweep to queue.</summary>
    private async Task QueueAsync(Guid firstId, Func<Task> enqueue)
    {
        try
        {
            await enqueue();
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Message {MessageId} (and any queued with it) is stored but its delivery job could not be queued; the orphan sweep queues it", firstId);
        }
    }

    /// <summary>What the message's content weighs while it waits: UTF-8 bodies, decoded attachments, custom headers.</summary>
    private static long ContentBytes(MessageContent content)
    {
        long bytes = Encoding.UTF8.GetByteCount(content.Text ?? "") + Encoding.UTF8.GetByteCount(content.Html ?? "");
        foreach (var attachment in content.Attachments)
        {
            bytes += attachment.Content.Length;
        }
        foreach (var (name, value) in content.Headers)
        {
            bytes += name.Length + value.Length;
        }
        return bytes;
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
        Convert.ToHexString(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(requests, ApiJson.Options)));

}
