using System.Security.Claims;
using FluentValidation;
using MailApi.Auth;
using MailApi.Http;
using MailApi.Messages;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace MailApi.Bounces;

/// <summary>
/// <c>/v1/bounces</c>: reports handed in over HTTP (for relays that pipe bounces to a command) and the report log. Only keys
/// configured with <c>Bounces: true</c> may use it: the bounce mailbox is the operator's, so the log holds every key's reports.
/// </summary>
public static class BouncesApi
{
    public const string MediaType = "message/rfc822";

    public static RouteGroupBuilder MapBounces(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/bounces")
            .WithTags("Bounces")
            .RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);

        group.MapPost("/", Post).WithName("PostBounce").WithSummary("Hand in a bounce report (the raw mail)")
            .WithDescription("The mail as received, Content-Type message/rfc822; 'to' is the envelope recipient it was delivered to "
                + "(Postfix pipe: ${recipient}). 202 with the report as logged; the same report again answers with the first.")
            .Accepts<string>(MediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        group.MapGet("/", List).WithName("ListBounces").WithSummary("The report log, newest first")
            .AddEndpointFilter<ValidationFilter<BouncesQuery>>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapGet("/{id}", Get).WithName("GetBounce").WithSummary("One report").ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/{id}/raw", Raw).WithName("GetBounceRaw").WithSummary("The report's mail as received")
            .Produces<string>(StatusCodes.Status200OK, MediaType)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return group;
    }

    public static async Task<Results<Accepted<BounceReportResource>, ProblemHttpResult>> Post(string? to, HttpContext context, ClaimsPrincipal user,
        ApiKeyRing keys, BounceIntake intake, IOptionsMonitor<BounceOptions> options, CancellationToken cancellationToken)
    {
        if (Forbidden(user, keys) is { } forbidden)
        {
            return forbidden;
        }
        var request = context.Request;
        if (!string.Equals(request.ContentType?.Split(';')[0].Trim(), MediaType, StringComparison.OrdinalIgnoreCase))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported Media Type",
                detail: $"The body is '{request.ContentType}'; send the mail as received, as 'Content-Type: {MediaType}'.");
        }
        var limit = options.CurrentValue.MaxReportBytes;
        using var body = new MemoryStream();
        var buffer = new byte[81920];
        int read;
        while ((read = await request.Body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            body.Write(buffer, 0, read);
            if (body.Length > limit)
            {
                return TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Report too large",
                    detail: $"The report is larger than Bounces:MaxReportBytes ({limit} bytes).");
            }
        }
        var raw = body.ToArray();
        if (!LooksLikeMail(raw))
        {
            return ApiProblems.Validation(new Dictionary<string, string[]> { [""] = ["The body is not a mail: it must start with its header lines (From:, Subject:, …)."] });
        }
        if (to is not null && Mailboxes.TryParse(to) is null)
        {
            return ApiProblems.Validation(new Dictionary<string, string[]> { ["to"] = [$"'{to}' is not an address."] });
        }
        StoredReport report;
        try
        {
            (report, _) = await intake.TakeAsync(raw, "http", to, cancellationToken);
        }
        catch (ReportTooEarlyException early)
        {
            // Postfix's pipe keeps the bounce and tries again when the command exits 75 (docs/bounces.md's script does on any failure).
            context.Response.Headers.RetryAfter = "5";
            return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Report too early", detail: early.Message);
        }
        return TypedResults.Accepted($"/v1/bounces/{report.Id}", BounceReportResource.Of(report));
    }

    public static async Task<Results<Ok<BounceReportPage>, ProblemHttpResult>> List([AsParameters] BouncesQuery query, ClaimsPrincipal user,
        ApiKeyRing keys, IBounceStore store, CancellationToken cancellationToken)
    {
        if (Forbidden(user, keys) is { } forbidden)
        {
            return forbidden;
        }
        var (items, hasMore) = await store.ListAsync(query.Matched, query.Before(), query.PageSize(), cancellationToken);
        return TypedResults.Ok(new BounceReportPage(items.Select(BounceReportResource.Of).ToList(), hasMore ? Paging.CursorAfter(items[^1].Id) : null));
    }

    public static async Task<Results<Ok<BounceReportResource>, ProblemHttpResult>> Get(string id, ClaimsPrincipal user, ApiKeyRing keys, IBounceStore store,
        CancellationToken cancellationToken)
    {
        if (Forbidden(user, keys) is { } forbidden)
        {
            return forbidden;
        }
        return Guid.TryParse(id, out var guid) && await store.FindAsync(guid, cancellationToken) is { } report
            ? TypedResults.Ok(BounceReportResource.Of(report))
            : NotFound(id);
    }

    public static async Task<Results<FileContentHttpResult, ProblemHttpResult>> Raw(string id, ClaimsPrincipal user, ApiKeyRing keys, IBounceStore store,
        CancellationToken cancellationToken)
    {
        if (Forbidden(user, keys) is { } forbidden)
        {
            return forbidden;
        }
        return Guid.TryParse(id, out var guid) && await store.RawAsync(guid, cancellationToken) is { } raw
            ? TypedResults.File(raw, MediaType)
            : NotFound(id);
    }

    /// <summary>A mail starts with a header line: a field name, a colon (RFC 5322 §2.2). Anything else is refused, not logged.</summary>
    private static bool LooksLikeMail(byte[] raw)
    {
        var colon = Array.IndexOf(raw, (byte)':');
        return colon > 0 && colon < 1000 && raw.AsSpan(0, colon).IndexOfAnyExceptInRange((byte)33, (byte)126) < 0;
    }

    /// <summary>A key without <c>Bounces: true</c>: a 403 whose <c>errors</c> name the request as a whole (<c>""</c>).</summary>
    private static ProblemHttpResult? Forbidden(ClaimsPrincipal user, ApiKeyRing keys)
    {
        if (keys.FindByName(user.KeyName()) is { Bounces: true })
        {
            return null;
        }
        var detail = $"The API key '{user.KeyName()}' is not configured with Bounces: true, which the bounce intake and its log need.";
        return TypedResults.Problem(new HttpValidationProblemDetails(new Dictionary<string, string[]> { [""] = [detail] })
        {
            Status = StatusCodes.Status403Forbidden,
            Title = "Bounces not allowed",
            Detail = detail,
        });
    }

    private static ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Report not found", detail: $"No bounce report with id '{id}' is logged.");
}

/// <summary>The query string of <c>GET /v1/bounces</c>: all reports, or only the matched or unmatched ones; a page.</summary>
public sealed record BouncesQuery(bool? Matched, int? Limit, string? Cursor) : IPageQuery;

/// <summary>The page's rules, as for the other lists (<see cref="PageQueryValidator"/>).</summary>
public sealed class BouncesQueryValidator : AbstractValidator<BouncesQuery>
{
    public BouncesQueryValidator() => Include(new PageQueryValidator());
}

/// <summary>A report as the log shows it.</summary>
public sealed record BounceReportResource(Guid Id, DateTimeOffset ReceivedAt, string Via, string Kind, string? From, string? Subject,
    string? ReportingMta, string? MatchedBy, Guid? MessageId, IReadOnlyList<ReportedRecipient> Recipients, string? Reason)
{
    public static BounceReportResource Of(StoredReport r) =>
        new(r.Id, r.ReceivedAt, r.Via, r.Kind, r.From, r.Subject, r.ReportingMta, r.MatchedBy, r.MessageId, r.Recipients, r.Reason);
}

/// <summary>A page of the report log, newest first; pass <c>nextCursor</c> as <c>cursor</c> for the next.</summary>
public sealed record BounceReportPage(IReadOnlyList<BounceReportResource> Items, string? NextCursor);
