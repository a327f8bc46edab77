using System.Security.Claims;
using MailApi.Auth;
using MailApi.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace MailApi.Suppressions;

/// <summary><c>/v1/suppressions</c>: each API key's own list of addresses that must not be mailed again.</summary>
public static class SuppressionsApi
{
    public static RouteGroupBuilder MapSuppressions(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/suppressions")
            .WithTags("Suppressions")
            .RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized);

        group.MapGet("/", List).WithName("ListSuppressions").WithSummary("This key's suppressed addresses, newest first")
            .WithDescription("Filter by reason, by address or by a whole domain (@example.com); pass nextCursor as cursor. Expired entries are not listed.")
            .AddEndpointFilter<ValidationFilter<SuppressionsQuery>>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapGet("/{address}", Get).WithName("GetSuppression").WithSummary("One suppressed address")
            .WithDescription("Any spelling of the address finds its entry (case, and an internationalised domain either way).")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPut("/{address}", Put).WithName("PutSuppression").WithSummary("Suppress an address (or replace its entry)")
            .WithDescription("201 when the address was not suppressed, 200 when its entry was replaced. Messages to it are no longer offered to the relay.")
            .Accepts<PutSuppressionRequest>("application/json")
            .AddEndpointFilter<ValidationFilter<PutSuppressionRequest>>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapDelete("/{address}", Delete).WithName("DeleteSuppression").WithSummary("Mail an address again")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return group;
    }

    public static async Task<Ok<SuppressionPageResource>> List([AsParameters] SuppressionsQuery query, ClaimsPrincipal user, ISuppressionStore store,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        var page = await store.ListAsync(query.ToStoreQuery(user.KeyName()), clock.GetUtcNow(), cancellationToken);
        var next = page.HasMore ? Paging.CursorAfter(page.Items[^1].Id) : null;
        return TypedResults.Ok(new SuppressionPageResource(page.Items.Select(SuppressionResource.Of).ToList(), next));
    }

    public static async Task<Results<Ok<SuppressionResource>, ProblemHttpResult>> Get(string address, ClaimsPrincipal user, ISuppressionStore store,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        if (SuppressionAddress.Normalize(address) is not { } normal)
        {
            return BadAddress(address);
        }
        var found = await store.FindAsync(user.KeyName(), [normal], clock.GetUtcNow(), cancellationToken);
        return found.TryGetValue(normal, out var entry) ? TypedResults.Ok(SuppressionResource.Of(entry)) : NotFound(address);
    }

    public static async Task<Results<Created<SuppressionResource>, Ok<SuppressionResource>, ProblemHttpResult>> Put(string address,
        JsonBody<PutSuppressionRequest> body, ClaimsPrincipal user, SuppressionList list, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (SuppressionAddress.Normalize(address) is not { } normal)
        {
            return BadAddress(address);
        }
        var request = body.Value!;
        var now = clock.GetUtcNow();
        var entry = new StoredSuppression
        {
            Owner = user.KeyName(),
            Address = normal,
            Id = Guid.CreateVersion7(now),
            Reason = SuppressionReasons.Parse(request.Reason) ?? SuppressionReason.Manual,
            CreatedAt = now,
            ExpiresAt = request.ExpiresAt?.ToUniversalTime(),
        };
        var resource = SuppressionResource.Of(entry);
        return await list.PutAsync(entry, cancellationToken)
            ? TypedResults.Created($"/v1/suppressions/{Uri.EscapeDataString(normal)}", resource)
            : TypedResults.Ok(resource);
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> Delete(string address, ClaimsPrincipal user, SuppressionList list,
        CancellationToken cancellationToken)
    {
        if (SuppressionAddress.Normalize(address) is not { } normal)
        {
            return BadAddress(address);
        }
        return await list.RemoveAsync(user.KeyName(), normal, cancellationToken) is not null ? TypedResults.NoContent() : NotFound(address);
    }

    private static ProblemHttpResult BadAddress(string address) => ApiProblems.Validation(new Dictionary<string, string[]>
    {
        ["address"] = [$"'{address}' is not an e-mail address (local part, '@' and domain, nothing else)."],
    });

    private static ProblemHttpResult NotFound(string address) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Address not suppressed",
            detail: $"'{address}' is not on this API key's suppression list.");
}
