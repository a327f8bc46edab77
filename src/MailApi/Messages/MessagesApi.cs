using System.Security.Claims;
using System.Text.Json;
using MailApi.Auth;
using MailApi.Http;
using MailApi.Storage;
using MailApi.Telemetry;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace MailApi.Messages;

/// <summary>The <c>/v1/messages</c> endpoints.</summary>
public static class MessagesApi
{
    public const string IdempotencyHeader = IdempotencyKeyFilter.Header;

    /// <summary>What an overloaded service asks callers to wait: long enough for workers to drain a real backlog.</summary>
    private static readonly TimeSpan OverloadRetryAfter = TimeSpan.FromSeconds(30);

    public static RouteGroupBuilder MapMessages(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/messages")
            .WithTags("Messages")
            .RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized);

        group.MapPost("/", Send)
            .WithName("SendMessage")
            .WithSummary("Send one message")
            .WithDescription("Validates and stores the message, then queues its delivery. A 202 means it is stored and will reach a final status. "
                + "The same Idempotency-Key and body within 24 h answer with the same message; another body with that key is a 409.")
            .Accepts<SendMessageRequest>("application/json")
            .AddEndpointFilter<IdempotencyKeyFilter>()
            .AddEndpointFilter<ValidationFilter<SendMessageRequest>>()
            .ProducesSubmitProblems();

        group.MapPost("/batch", SendBatch)
            .WithName("SendBatch")
            .WithSummary("Send up to 100 messages")
            .WithDescription("Every message is validated first: if any is invalid, nothing is stored and the errors are keyed messages[i]. "
                + "Idempotency-Key covers the whole batch.")
            .Accepts<BatchRequest>("application/json")
            .AddEndpointFilter<IdempotencyKeyFilter>()
            .AddEndpointFilter<ValidationFilter<BatchRequest>>()
            .ProducesSubmitProblems();

        group.MapGet("/", List)
            .AddEndpointFilter<ValidationFilter<ListQuery>>()
            .WithName("ListMessages")
            .WithSummary("List messages, newest first")
            .WithDescription("Filters combine; pass nextCursor as cursor for the next page.")
            .ProducesProblem(StatusCodes.Status400BadRequest);

        group.MapGet("/{id}", Get)
            .WithName("GetMessage")
            .WithSummary("Delivery status of one message")
            .WithDescription("The message with its status, every recipient's reply, the queue id and the transcript of every attempt.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapPost("/{id}/cancel", Cancel)
            .WithName("CancelMessage")
            .WithSummary("Cancel a scheduled, queued or deferred message")
            .WithDescription("No SMTP dialogue starts for a canceled message. Any other status is a 409 naming it.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        return group;
    }

    /// <summary>The problems both ways of submitting can answer with.</summary>
    private static RouteHandlerBuilder ProducesSubmitProblems(this RouteHandlerBuilder endpoint) => endpoint
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status403Forbidden)
        .ProducesProblem(StatusCodes.Status409Conflict)
        .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
        .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
        .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

    public static async Task<Results<Accepted<MessageResource>, ProblemHttpResult>> Send(
        JsonBody<SendMessageRequest> body, [FromHeader(Name = IdempotencyHeader)] string? idempotencyKey,
        ClaimsPrincipal user, ApiKeyRing keys, MessageSubmitter submitter, HttpContext context, CancellationToken cancellationToken)
    {
        var request = body.Value!;
        var problem = CheckSenders([request], user, keys, single: true);
        if (problem is not null)
        {
            return problem;
        }
        var result = await submitter.SubmitAsync([request], user.KeyName(), idempotencyKey, cancellationToken);
        return ProblemFor(result, context) ?? (Results<Accepted<MessageResource>, ProblemHttpResult>)TypedResults.Accepted(
            $"/v1/messages/{result.Messages[0].Id}", MessageResource.Of(result.Messages[0]));
    }

    public static async Task<Results<Accepted<BatchResult>, ProblemHttpResult>> SendBatch(
        JsonBody<BatchRequest> body, [FromHeader(Name = IdempotencyHeader)] string? idempotencyKey,
        ClaimsPrincipal user, ApiKeyRing keys, MessageSubmitter submitter, HttpContext context, CancellationToken cancellationToken)
    {
        var requests = body.Value!.Messages!.Select(m => m!).ToList();
        var problem = CheckSenders(requests, user, keys, single: false);
        if (problem is not null)
        {
            return problem;
        }
        var result = await submitter.SubmitAsync(requests, user.KeyName(), idempotencyKey, cancellationToken);
        return ProblemFor(result, context)
            ?? (Results<Accepted<BatchResult>, ProblemHttpResult>)TypedResults.Accepted((string?)null, new BatchResult(result.Messages.Select(MessageResource.Of).ToList()));
    }

    public static async Task<Ok<MessageList>> List(
        [AsParameters] ListQuery query, ClaimsPrincipal user, IMessageStore store, CancellationToken cancellationToken)
    {
        var page = await store.ListAsync(query.ToStoreQuery(user.KeyName()), cancellationToken);
        var next = page.HasMore ? Paging.CursorAfter(page.Items[^1].Id) : null;
        return TypedResults.Ok(new MessageList(page.Items.Select(MessageSummary.Of).ToList(), next));
    }

    public static async Task<Results<Ok<MessageResource>, ProblemHttpResult>> Get(
        string id, ClaimsPrincipal user, IMessageStore store, CancellationToken cancellationToken)
    {
        var message = await FindOwnAsync(id, user, store, cancellationToken);
        return message is null ? ApiProblems.NotFound(id) : TypedResults.Ok(MessageResource.Of(message));
    }

    public static async Task<Results<Ok<MessageResource>, ProblemHttpResult>> Cancel(
        string id, ClaimsPrincipal user, IMessageStore store, MailApiMetrics metrics, TimeProvider clock, ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        // Compare-and-set against the delivery job: whichever writes first wins, and the loser sees the new status.
        while (await FindOwnAsync(id, user, store, cancellationToken) is { } message)
        {
            if (!message.Status.IsWaiting())
            {
                return ApiProblems.Conflict("The message cannot be canceled",
                    $"The message is {message.Status.Name()}; only {string.Join(", ", MessageStatuses.Waiting.Select(s => s.Name()))} messages can be canceled.");
            }
            var canceled = await store.TryUpdateAsync(
                message with { Status = MessageStatus.Canceled, UpdatedAt = clock.GetUtcNow(), NextAttemptAt = null }, cancellationToken);
            if (canceled is not null)
            {
                metrics.Finished(canceled);
                loggers.CreateLogger(typeof(MessagesApi)).LogInformation("Message {MessageId} canceled by key {KeyName}", canceled.Id, canceled.Owner);
                return TypedResults.Ok(MessageResource.Of(canceled));
            }
        }
        return ApiProblems.NotFound(id);
    }

    /// <summary>Another key's message answers exactly like a missing one, so ids cannot be probed.</summary>
    internal static async Task<StoredMessage?> FindOwnAsync(string id, ClaimsPrincipal user, IMessageStore store, CancellationToken cancellationToken) =>
        Guid.TryParse(id, out var guid) && await store.FindAsync(guid, cancellationToken) is { } message && message.Owner == user.KeyName()
            ? message
            : null;

    private static ProblemHttpResult? CheckSenders(IReadOnlyList<SendMessageRequest> requests, ClaimsPrincipal user, ApiKeyRing keys, bool single)
    {
        var key = keys.FindByName(user.KeyName())!;
        Dictionary<string, string[]>? errors = null;
        for (var i = 0; i < requests.Count; i++)
        {
            var sender = Mailboxes.Address(requests[i].From!);
            if (!key.MaySendAs(sender))
            {
                (errors ??= [])[single ? "from" : $"messages[{i}].from"] = [$"The API key '{key.Name}' may not send as '{sender}'."];
            }
        }
        return errors is null ? null : ApiProblems.Validation(errors, StatusCodes.Status403Forbidden);
    }

    private static ProblemHttpResult? ProblemFor(MessageSubmitter.Result result, HttpContext context) => result.Outcome switch
    {
        MessageSubmitter.Outcome.Overloaded => ApiProblems.Overloaded(context, OverloadRetryAfter, result.Overload!),
        MessageSubmitter.Outcome.KeyReused => ApiProblems.Conflict("Idempotency-Key reused",
            "This Idempotency-Key was used in the last 24 hours with a different body; nothing was stored."),
        _ => null,
    };
}
