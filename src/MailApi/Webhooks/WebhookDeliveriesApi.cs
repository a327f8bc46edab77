using System.Security.Claims;
using MailApi.Http;
using MailApi.Messages;
using MailApi.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace MailApi.Webhooks;

/// <summary>
/// <c>/v1/webhooks/{id}/deliveries</c>: an endpoint's delivery log, and sending one again; and
/// <c>/v1/messages/{id}/deliveries</c>: what became of one message's events at every endpoint.
/// </summary>
public static class WebhookDeliveriesApi
{
    /// <summary>
    /// More than a message can have: it has one event per status change (a few per attempt) and one delivery per
    /// event and endpoint.
    /// </summary>
    public const int MaxMessageDeliveries = 1000;

    public static IEndpointRouteBuilder MapMessageDeliveries(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/messages/{id}/deliveries", ListForMessage)
            .WithTags("Messages")
            .RequireAuthorization()
            .WithName("ListMessageDeliveries")
            .WithSummary("Webhook deliveries of one message's events, oldest first")
            .WithDescription("Every delivery of the message's events to this key's endpoints, each with every try; another key's message is a 404.")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    public static async Task<Results<Ok<MessageDeliveryList>, ProblemHttpResult>> ListForMessage(
        string id, ClaimsPrincipal user, IMessageStore messages, IWebhookStore store, CancellationToken cancellationToken)
    {
        if (await MessagesApi.FindOwnAsync(id, user, messages, cancellationToken) is not { } message)
        {
            return ApiProblems.NotFound(id);
        }
        var deliveries = await store.ListMessageDeliveriesAsync(message.Id, MaxMessageDeliveries, cancellationToken);
        // The message is the key's, and so is every endpoint sent its events; the owner check costs nothing.
        return TypedResults.Ok(new MessageDeliveryList(deliveries.Where(d => d.Owner == message.Owner).Select(DeliveryResource.Of).ToList()));
    }

    public static RouteGroupBuilder MapWebhookDeliveries(this RouteGroupBuilder group)
    {
        group.MapGet("/{id}/deliveries", List)
            .AddEndpointFilter<ValidationFilter<DeliveriesQuery>>()
            .WithName("ListWebhookDeliveries").WithSummary("An endpoint's deliveries, newest first")
            .WithDescription("Each with every try's status code, duration, error and the first KB of the answer; pass nextCursor as cursor.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/{id}/deliveries/{deliveryId}/retry", Retry)
            .WithName("RetryWebhookDelivery").WithSummary("Send a delivery again now, with the same webhook-id")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return group;
    }

    public static async Task<Results<Ok<DeliveryList>, ProblemHttpResult>> List(
        string id, [AsParameters] DeliveriesQuery query, ClaimsPrincipal user, IWebhookStore store, CancellationToken cancellationToken)
    {
        if (await WebhooksApi.FindOwnAsync(id, user, store, cancellationToken) is not { } endpoint)
        {
            return WebhooksApi.NotFound(id);
        }
        var limit = query.PageSize();
        var page = await store.ListDeliveriesAsync(endpoint.Id, DeliveriesQuery.ParseStatus(query.Status), query.Before(), limit + 1, cancellationToken);
        var next = page.Count > limit ? Paging.CursorAfter(page[limit - 1].Id) : null;
        return TypedResults.Ok(new DeliveryList(page.Take(limit).Select(DeliveryResource.Of).ToList(), next));
    }

    public static async Task<Results<Accepted<DeliveryResource>, ProblemHttpResult>> Retry(
        string id, string deliveryId, ClaimsPrincipal user, IWebhookStore store, WebhookDispatcher dispatcher, CancellationToken cancellationToken)
    {
        if (await WebhooksApi.FindOwnAsync(id, user, store, cancellationToken) is not { } endpoint
            || !Guid.TryParse(deliveryId, out var guid)
            || await store.FindDeliveryAsync(guid, cancellationToken) is not { } delivery
            || delivery.EndpointId != endpoint.Id)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Delivery not found",
                detail: $"No delivery '{deliveryId}' of webhook endpoint '{id}' exists for this API key.");
        }
        var retried = await dispatcher.RetryAsync(delivery, cancellationToken);
        return TypedResults.Accepted($"/v1/webhooks/{endpoint.Id}/deliveries", DeliveryResource.Of(retried));
    }
}
