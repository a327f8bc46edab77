using System.Buffers.Text;
using System.Text.Json;
using MailApi.Storage;

namespace MailApi.Messages;

/// <summary>The query string of <c>GET /v1/messages</c>.</summary>
public sealed record ListQuery(
    string? Status, string? Tag, string? From, string? To, string? QueueId,
    DateTimeOffset? CreatedAfter, DateTimeOffset? CreatedBefore, int? Limit, string? Cursor)
{
    public const int MaxLimit = 100;
    public const int DefaultLimit = 50;

    /// <summary>The store's query, or null with <paramref name="errors"/> filled.</summary>
    public MessageQuery? ToStoreQuery(string owner, Dictionary<string, string[]> errors)
    {
        MessageStatus? status = null;
        if (Status is not null)
        {
            var match = Enum.GetValues<MessageStatus>().Where(s => s.Name() == Status).ToList();
            if (match.Count == 0)
            {
                errors["status"] = [$"'status' must be one of {string.Join(", ", Enum.GetValues<MessageStatus>().Select(s => s.Name()))}."];
            }
            else
            {
                status = match[0];
            }
        }
        if (Limit is < 1 or > MaxLimit)
        {
            errors["limit"] = [$"'limit' must be between 1 and {MaxLimit}."];
        }
        Guid? before = null;
        if (Cursor is not null)
        {
            var bytes = new byte[16];
            if (Base64Url.DecodeFromChars(Cursor, bytes, out _, out var written) == System.Buffers.OperationStatus.Done && written == 16)
            {
                before = new Guid(bytes, bigEndian: true);
            }
            else
            {
                errors["cursor"] = ["'cursor' is not a cursor this API returned."];
            }
        }
        return errors.Count > 0 ? null : new MessageQuery
        {
            Owner = owner,
            Status = status,
            Tag = Tag,
            From = From,
            To = To,
            QueueId = QueueId,
            CreatedAfter = CreatedAfter,
            CreatedBefore = CreatedBefore,
            Before = before,
            Limit = Limit ?? DefaultLimit,
        };
    }

    public static string CursorAfter(Guid lastId) => Base64Url.EncodeToString(lastId.ToByteArray(bigEndian: true));

}
