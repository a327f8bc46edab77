using System.Security.Claims;
using MailApi.Http;
using MailApi.Messages;
using MailApi.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace MailApi.Webhooks.Events;

/// <summary><c>GET /v1/messages/{id}/events</c>: a message's status changes, oldest first.</summary>
public static class EventsApi
{
    public static IEndpointRouteBuilder MapMessageEvents(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/messages/{id}/events", List)
            .WithTags("Messages")
            .RequireAuthorization()
            .WithName("ListMessageEvents")
            .WithSummary("Status changes of one message, oldest first")
            .WithDescription("Every event the message's webhooks are sent, each with its sequence number; another key's message is a 404.")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    public static async Task<Results<Ok<EventList>, ProblemHttpResult>> List(
        string id, ClaimsPrincipal user, IMessageStore store, CancellationToken cancellationToken)
    {
        if (await MessagesApi.FindOwnAsync(id, user, store, cancellationToken) is not { } message)
        {
            return ApiProblems.NotFound(id);
        }
        return TypedResults.Ok(new EventList(message.Events.Select(e => EventPayload.Of(message, e)).ToList()));
    }
}
