using System.Security.Claims;
using MailApi.Auth;
using MailApi.Http;
using MailApi.Storage;
using MailApi.Webhooks.Events;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace MailApi.Webhooks;

/// <summary>The <c>/v1/webhooks</c> endpoints: each API key's own webhook endpoints and their delivery logs.</summary>
public static class WebhooksApi
{
    public static RouteGroupBuilder MapWebhookEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/webhooks")
            .WithTags("Webhooks")
            .RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized);

        group.MapPost("/", Create).WithName("CreateWebhook").WithSummary("Add a webhook endpoint")
            .WithDescription("The answer carries the signing secret, shown this once. Events default to all types.")
            .Accepts<CreateWebhookRequest>("application/json")
            .AddEndpointFilter<ValidationFilter<CreateWebhookRequest>>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapGet("/", List).WithName("ListWebhooks").WithSummary("This key's webhook endpoints");
        group.MapGet("/{id}", Get).WithName("GetWebhook").WithSummary("One webhook endpoint").ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPatch("/{id}", Update).WithName("UpdateWebhook").WithSummary("Change url, events, description or enabled")
            .WithDescription("Enabling an endpoint the service disabled (after a 410) clears disabledReason.")
            .Accepts<UpdateWebhookRequest>("application/json")
            .AddEndpointFilter<ValidationFilter<UpdateWebhookRequest>>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapDelete("/{id}", Delete).WithName("DeleteWebhook").WithSummary("Remove an endpoint and its delivery log")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/{id}/rotate-secret", RotateSecret).WithName("RotateWebhookSecret").WithSummary("A new signing secret")
            .WithDescription("For Webhooks:SecretOverlap (24 h by default) every request carries two signatures, the new and the old.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/{id}/test", Test).WithName("TestWebhook").WithSummary("Send a webhook.test event now")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapWebhookDeliveries();
        return group;
    }

    public static async Task<Results<Created<WebhookResource>, ProblemHttpResult>> Create(
        JsonBody<CreateWebhookRequest> body, ClaimsPrincipal user, IWebhookStore store, WebhookOwners owners, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        var request = body.Value!;
        var now = clock.GetUtcNow();
        var endpoint = new StoredEndpoint
        {
            Id = Guid.CreateVersion7(now),
            Owner = user.KeyName(),
            Url = request.Url!,
            Events = request.Events is null ? MessageEvents.All : request.Events.Select(e => e!).Distinct().ToList(),
            Description = request.Description,
            Enabled = request.Enabled ?? true,
            Secret = WebhookSecret.New(),
            CreatedAt = now,
            UpdatedAt = now,
        };
        await store.AddEndpointAsync(endpoint, cancellationToken);
        owners.Added(endpoint.Owner);
        return TypedResults.Created($"/v1/webhooks/{endpoint.Id}", WebhookResource.Of(endpoint, withSecret: true));
    }

    public static async Task<Ok<WebhookList>> List(ClaimsPrincipal user, IWebhookStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(new WebhookList((await store.ListEndpointsAsync(user.KeyName(), cancellationToken)).Select(e => WebhookResource.Of(e)).ToList()));

    public static async Task<Results<Ok<WebhookResource>, ProblemHttpResult>> Get(
        string id, ClaimsPrincipal user, IWebhookStore store, CancellationToken cancellationToken) =>
        await FindOwnAsync(id, user, store, cancellationToken) is { } endpoint ? TypedResults.Ok(WebhookResource.Of(endpoint)) : NotFound(id);

    public static async Task<Results<Ok<WebhookResource>, ProblemHttpResult>> Update(
        string id, JsonBody<UpdateWebhookRequest> body, ClaimsPrincipal user, IWebhookStore store, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        var request = body.Value!;
        return await UpdateAsync(id, user, store, e => e with
        {
            Url = request.Url ?? e.Url,
            Events = request.Events?.Select(t => t!).Distinct().ToList() ?? e.Events,
            Description = request.Description ?? e.Description,
            Enabled = request.Enabled ?? e.Enabled,
            DisabledReason = request.Enabled is true ? null : e.DisabledReason,
            UpdatedAt = clock.GetUtcNow(),
        }, cancellationToken) is { } updated ? TypedResults.Ok(WebhookResource.Of(updated)) : NotFound(id);
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> Delete(
        string id, ClaimsPrincipal user, IWebhookStore store, CancellationToken cancellationToken) =>
        await FindOwnAsync(id, user, store, cancellationToken) is { } endpoint && await store.DeleteEndpointAsync(endpoint.Id, cancellationToken)
            ? TypedResults.NoContent()
            : NotFound(id);

    public static async Task<Results<Ok<SecretResource>, ProblemHttpResult>> RotateSecret(
        string id, ClaimsPrincipal user, IWebhookStore store, TimeProvider clock, IOptionsMonitor<WebhookOptions> options,
        CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        return await UpdateAsync(id, user, store, e => e with
        {
            Secret = WebhookSecret.New(),
            PreviousSecret = e.Secret,
            PreviousSecretExpiresAt = now + options.CurrentValue.SecretOverlap,
            UpdatedAt = now,
        }, cancellationToken) is { } rotated ? TypedResults.Ok(new SecretResource(rotated.Secret)) : NotFound(id);
    }

    public static async Task<Results<Accepted<DeliveryResource>, ProblemHttpResult>> Test(
        string id, ClaimsPrincipal user, IWebhookStore store, WebhookDispatcher dispatcher, CancellationToken cancellationToken)
    {
        if (await FindOwnAsync(id, user, store, cancellationToken) is not { } endpoint)
        {
            return NotFound(id);
        }
        var delivery = await dispatcher.SendTestAsync(endpoint, cancellationToken);
        return TypedResults.Accepted($"/v1/webhooks/{endpoint.Id}/deliveries", DeliveryResource.Of(delivery));
    }

    /// <summary>Compare-and-set until it holds (a delivery job may disable the endpoint meanwhile); null when not this key's.</summary>
    private static async Task<StoredEndpoint?> UpdateAsync(string id, ClaimsPrincipal user, IWebhookStore store, Func<StoredEndpoint, StoredEndpoint> change,
        CancellationToken cancellationToken)
    {
        while (await FindOwnAsync(id, user, store, cancellationToken) is { } endpoint)
        {
            if (await store.TryUpdateEndpointAsync(change(endpoint), cancellationToken) is { } updated)
            {
                return updated;
            }
        }
        return null;
    }

    /// <summary>Another key's endpoint answers exactly like a missing one, so ids cannot be probed.</summary>
    internal static async Task<StoredEndpoint?> FindOwnAsync(string id, ClaimsPrincipal user, IWebhookStore store, CancellationToken cancellationToken) =>
        Guid.TryParse(id, out var guid) && await store.FindEndpointAsync(guid, cancellationToken) is { } endpoint && endpoint.Owner == user.KeyName()
            ? endpoint
            : null;

    internal static ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Webhook not found",
            detail: $"No webhook endpoint with id '{id}' exists for this API key.");
}
