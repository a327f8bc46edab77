using System.Buffers;
using System.Buffers.Text;
using FluentValidation;
using MailApi.Storage;

namespace MailApi.Messages;

/// <summary>The query string of <c>GET /v1/messages</c>.</summary>
public sealed record ListQuery(
    string? Status, string? Tag, string? From, string? To, string? QueueId,
    DateTimeOffset? CreatedAfter, DateTimeOffset? CreatedBefore, int? Limit, string? Cursor)
{
    public const int MaxLimit = 100;
    public const int DefaultLimit = 50;

    /// <summary>The store's query; the query was validated (<see cref="ListQueryValidator"/>) before the handler ran.</summary>
    public MessageQuery ToStoreQuery(string owner) => new()
    {
        Owner = owner,
        Status = Status is null ? null : ParseStatus(Status),
        Tag = Tag,
        From = From,
        To = To,
        QueueId = QueueId,
        CreatedAfter = CreatedAfter,
        CreatedBefore = CreatedBefore,
        Before = Cursor is null ? null : ParseCursor(Cursor),
        Limit = Limit ?? DefaultLimit,
    };

    /// <summary>The status spelled <paramref name="name"/> (<c>partially_sent</c>), or null.</summary>
    public static MessageStatus? ParseStatus(string name)
    {
        foreach (var status in Enum.GetValues<MessageStatus>())
        {
            if (status.Name() == name)
            {
                return status;
            }
        }
        return null;
    }

    /// <summary>The id a cursor this API returned stands for, or null when it is no such cursor.</summary>
    public static Guid? ParseCursor(string cursor)
    {
        var bytes = new byte[16];
        return Base64Url.DecodeFromChars(cursor, bytes, out _, out var written) == OperationStatus.Done && written == 16
            ? new Guid(bytes, bigEndian: true)
            : null;
    }

    public static string CursorAfter(Guid lastId) => Base64Url.EncodeToString(lastId.ToByteArray(bigEndian: true));
}

/// <summary>The query string's rules: a known status, a limit of 1-100, a cursor this API returned.</summary>
public sealed class ListQueryValidator : AbstractValidator<ListQuery>
{
    public ListQueryValidator()
    {
        RuleFor(q => q.Status).Must(s => s is null || ListQuery.ParseStatus(s) is not null)
            .WithMessage($"'status' must be one of {string.Join(", ", Enum.GetValues<MessageStatus>().Select(s => s.Name()))}.");
        RuleFor(q => q.Limit).InclusiveBetween(1, ListQuery.MaxLimit).When(q => q.Limit is not null)
            .WithMessage($"'limit' must be between 1 and {ListQuery.MaxLimit}.");
        RuleFor(q => q.Cursor).Must(c => c is null || ListQuery.ParseCursor(c) is not null)
            .WithMessage("'cursor' is not a cursor this API returned.");
    }
}
