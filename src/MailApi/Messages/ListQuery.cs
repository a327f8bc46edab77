using FluentValidation;
using MailApi.Http;
using MailApi.Storage;

namespace MailApi.Messages;

/// <summary>The query string of <c>GET /v1/messages</c>.</summary>
public sealed record ListQuery(
    string? Status, string? Tag, string? From, string? To, string? QueueId,
    DateTimeOffset? CreatedAfter, DateTimeOffset? CreatedBefore, int? Limit, string? Cursor) : IPageQuery
{
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
        Before = this.Before(),
        Limit = this.PageSize(),
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
}

/// <summary>The query string's rules: a known status, and the page's (<see cref="PageQueryValidator"/>).</summary>
public sealed class ListQueryValidator : AbstractValidator<ListQuery>
{
    public ListQueryValidator()
    {
        RuleFor(q => q.Status).Must(s => s is null || ListQuery.ParseStatus(s) is not null)
            .WithMessage($"'status' must be one of {string.Join(", ", Enum.GetValues<MessageStatus>().Select(s => s.Name()))}.");
        Include(new PageQueryValidator());
    }
}
