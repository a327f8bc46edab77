using System.Security.Claims;
using MailApi.Auth;
using MailApi.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace MailApi.Messages;

/// <summary>The <c>/v1/messages</c> endpoints.</summary>
public static class MessagesApi
{
    public static RouteGroupBuilder MapMessages(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/messages")
            .WithTags("Messages")
            .RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized);

        group.MapPost("/", Send)
            .WithName("SendMessage")
            .WithSummary("Send one message")
            .WithDescription("Validates and stores the message, then queues its delivery. A 202 means it is stored and will reach a final status.")
            .Accepts<SendMessageRequest>("application/json")
            .AddEndpointFilter<ValidationFilter<SendMessageRequest>>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        group.MapGet("/{id}", Get)
            .WithName("GetMessage")
            .WithSummary("Delivery status of one message")
            .WithDescription("The message with its status, every recipient's reply, the queue id and the transcript of every attempt.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        return group;
    }

    public static async Task<Results<Accepted<MessageResource>, ProblemHttpResult>> Send(
        SendMessageRequest request, ClaimsPrincipal user, ApiKeyRing keys, MessageSubmitter submitter,
        HttpContext context, CancellationToken cancellationToken)
    {
        var key = keys.FindByName(user.KeyName())!;
        var sender = Mailboxes.Address(request.From!);
        if (!key.MaySendAs(sender))
        {
            return ApiProblems.Validation(
                new Dictionary<string, string[]> { ["from"] = [$"The API key '{key.Name}' may not send as '{sender}'."] },
                StatusCodes.Status403Forbidden);
        }

        var result = await submitter.SubmitAsync(request, key.Name, cancellationToken);
        if (result.Message is not { } message)
        {
            return ApiProblems.Overloaded(context, TimeSpan.FromSeconds(30));
        }
        return TypedResults.Accepted($"/v1/messages/{message.Id}", MessageResource.Of(message));
    }

    public static async Task<Results<Ok<MessageResource>, ProblemHttpResult>> Get(
        string id, ClaimsPrincipal user, IMessageStore store, CancellationToken cancellationToken)
    {
        // Another key's message answers exactly like a missing one, so ids cannot be probed.
        if (!Guid.TryParse(id, out var guid)
            || await store.FindAsync(guid, cancellationToken) is not { } message
            || message.Owner != user.KeyName())
        {
            return ApiProblems.NotFound(id);
        }
        return TypedResults.Ok(MessageResource.Of(message));
    }
}
