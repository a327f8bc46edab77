using System.Buffers;
using System.Buffers.Text;
using FluentValidation;

namespace MailApi.Http;

/// <summary>The query parameters every list takes: how many items a page holds, and where the page before ended.</summary>
public interface IPageQuery
{
    int? Limit { get; }

    string? Cursor { get; }
}

/// <summary>
/// How every list pages: 1-100 items (50 when no limit is given), and a cursor that is the last item's UUIDv7 id, so the
/// next page is the items below it. One cursor form and one set of bounds, so a client pages every list alike.
/// </summary>
public static class Paging
{
    public const int MaxLimit = 100;
    public const int DefaultLimit = 50;

    public static int PageSize(this IPageQuery query) => query.Limit ?? DefaultLimit;

    /// <summary>The id the query's cursor stands for; null when it has none (validated by <see cref="PageQueryValidator"/>).</summary>
    public static Guid? Before(this IPageQuery query) => query.Cursor is null ? null : ParseCursor(query.Cursor);

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

/// <summary>The rules of <see cref="IPageQuery"/>, included by each list's validator: a limit of 1-100, a cursor this API returned.</summary>
public sealed class PageQueryValidator : AbstractValidator<IPageQuery>
{
    public PageQueryValidator()
    {
        RuleFor(q => q.Limit).InclusiveBetween(1, Paging.MaxLimit).When(q => q.Limit is not null)
            .WithMessage($"'limit' must be between 1 and {Paging.MaxLimit}.");
        RuleFor(q => q.Cursor).Must(c => c is null || Paging.ParseCursor(c) is not null)
            .WithMessage("'cursor' is not a cursor this API returned.");
    }
}
