using MailApi.Hosting;
using MailApi.Http;
using MailApi.Messages;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace MailApi.OpenApi;

/// <summary>
/// What the endpoints' own metadata cannot say: the 503 every route gives when the store is unreachable
/// (<see cref="StorageOutageHandler"/> answers it for any request, so no endpoint declares it), the 429 of the per-key
/// request limit on every route that takes a key, the 400/413/415 every body can get (<see cref="JsonBody{T}"/>,
/// <see cref="RequestSizeLimit"/>), the problem schema of each (a <see cref="OpenApiSchemas.ValidationProblem"/> for 400
/// and 403), the headers that go with 201, 202, 429 and 503, what each answer means for this operation, and the
/// parameters as callers spell them and as the service checks them.
/// </summary>
public sealed class OpenApiAnswers : IOperationFilter
{
    private static readonly Dictionary<string, string> Parameters = new()
    {
        ["id"] = "The message id from the 202 answer (a UUID). Another key's message answers 404, like a missing one.",
        [MessagesApi.IdempotencyHeader] = "1-255 printable ASCII characters. The same key and body within 24 h answer with the same "
            + "message(s) and store nothing new; the same key with another body is a 409.",
        ["status"] = "Only messages with this status.",
        ["tag"] = "Only messages carrying this tag.",
        ["from"] = "Only messages from this address.",
        ["to"] = "Only messages to this address (To, Cc or Bcc).",
        ["queueId"] = "Only the message the relay gave this queue id.",
        ["createdAfter"] = "Only messages created after this time (RFC 3339).",
        ["createdBefore"] = "Only messages created before this time (RFC 3339).",
        ["limit"] = "Page size, 1-100 (default 50).",
        ["cursor"] = "The nextCursor of the previous page.",
        ["reason"] = $"Only entries with this reason: {string.Join(", ", Suppressions.SuppressionReasons.All)}.",
        ["address"] = "Only this address (any spelling), or every address of a domain given as @example.com.",
    };

    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        var webhooks = context.ApiDescription.RelativePath?.StartsWith("v1/webhooks", StringComparison.Ordinal) == true;
        var parameters = operation.Parameters ?? [];
        for (var i = 0; i < parameters.Count; i++)
        {
            if (parameters[i] is not OpenApiParameter parameter)
            {
                continue;
            }
            // The query binds case-insensitively; the API spells its names in camelCase (docs/API.md, "Conventions").
            if (parameter.In == ParameterLocation.Query && parameter.Name is { Length: > 0 } name)
            {
                parameter.Name = char.ToLowerInvariant(name[0]) + name[1..];
            }
            parameter.Description ??= Parameters.GetValueOrDefault(parameter.Name ?? "");
            if (parameter is { In: ParameterLocation.Query, Name: "status" })
            {
                parameter.Schema = new OpenApiSchemaReference(webhooks ? "WebhookDeliveryStatus" : "MessageStatus", context.Document);
                parameter.Description = webhooks ? "Only deliveries with this status." : parameter.Description;
            }
            if (Shared(parameter, webhooks) is { } shared)
            {
                var components = context.Document.Components!.Parameters ??= new Dictionary<string, IOpenApiParameter>();
                components.TryAdd(shared.Key, shared.Parameter);
                parameters[i] = new OpenApiParameterReference(shared.Key, context.Document);
            }
        }

        var responses = operation.Responses ??= [];
        // The per-key limit (KeyRateLimits) stands before every route that takes an API key, so none declares it itself.
        var problems = new List<string> { "503" };
        if (responses.ContainsKey("401"))
        {
            problems.Add("429");
        }
        if (operation.RequestBody is not null)
        {
            // Every body is read by JsonBody: malformed JSON is a 400, another media type a 415, an oversized body a 413.
            problems.AddRange(["400", "413", "415"]);
        }
        foreach (var status in problems.Where(s => !responses.ContainsKey(s)))
        {
            responses[status] = new OpenApiResponse
            {
                Content = new Dictionary<string, IOpenApiMediaType>
                {
                    ["application/problem+json"] = new OpenApiMediaType(),
                },
            };
        }
        var submit = operation.OperationId is "SendMessage" or "SendBatch";
        foreach (var (status, answer) in responses)
        {
            if (answer is not OpenApiResponse response)
            {
                continue;
            }
            response.Description = Describe(status, operation.OperationId, submit) ?? response.Description;
            if (status is "400" or "403" or "401" or "404" or "409" or "413" or "415" or "429" or "503"
                && response.Content is { } content && content.TryGetValue("application/problem+json", out var media) && media is OpenApiMediaType problem)
            {
                problem.Schema = new OpenApiSchemaReference(status is "400" or "403" ? OpenApiSchemas.ValidationProblem : "ProblemDetails", context.Document);
            }
            if (status is "503" or "429")
            {
                Header(response, "Retry-After", "Seconds to wait before trying again.", JsonSchemaType.Integer);
            }
            if (LocationOf(status, operation.OperationId) is { } location)
            {
                Header(response, "Location", location, JsonSchemaType.String);
            }
        }
        // Group-level answers (401) come first otherwise; Swagger UI lists them in document order.
        var ordered = responses.OrderBy(r => r.Key, StringComparer.Ordinal).ToList();
        responses.Clear();
        foreach (var (status, response) in ordered)
        {
            responses[status] = response;
        }
    }

    private static void Header(OpenApiResponse response, string name, string description, JsonSchemaType type) =>
        (response.Headers ??= new Dictionary<string, IOpenApiHeader>())[name] = new OpenApiHeader
        {
            Description = description,
            Required = name == "Location",
            Schema = new OpenApiSchema { Type = type },
        };

    private static string? LocationOf(string status, string? operationId) => (status, operationId) switch
    {
        ("202", "SendMessage") => "/v1/messages/{id}: where the delivery status is read.",
        ("201", "CreateWebhook") => "/v1/webhooks/{id}: the new endpoint.",
        ("201", "PutSuppression") => "/v1/suppressions/{address}: the entry, under the address's normal form.",
        ("202", "TestWebhook" or "RetryWebhookDelivery") => "/v1/webhooks/{id}/deliveries: the delivery log the delivery appears in.",
        _ => null,
    };

    /// <summary>
    /// The parameters several operations share, declared once under <c>components/parameters</c>: the ids (a UUID: any other
    /// text finds nothing, a 404), the optional Idempotency-Key, and the page size and cursor of the two lists.
    /// </summary>
    private static (string Key, OpenApiParameter Parameter)? Shared(OpenApiParameter parameter, bool webhooks) => (parameter.In, parameter.Name) switch
    {
        (ParameterLocation.Path, "id") when webhooks => ("WebhookId", Uuid(parameter, "The webhook endpoint id from the 201 answer. Another key's endpoint answers 404, like a missing one.")),
        (ParameterLocation.Path, "id") => ("MessageId", Uuid(parameter, Parameters["id"])),
        (ParameterLocation.Path, "address") => ("SuppressedAddress", Email(parameter)),
        (ParameterLocation.Path, "deliveryId") => ("DeliveryId", Uuid(parameter, "A delivery id from the endpoint's delivery log (its webhook-id header).")),
        (ParameterLocation.Header, MessagesApi.IdempotencyHeader) => ("IdempotencyKey", parameter),
        (ParameterLocation.Query, "limit") => ("Limit", Bounded(parameter)),
        (ParameterLocation.Query, "cursor") => ("Cursor", parameter),
        _ => null,
    };

    private static OpenApiParameter Email(OpenApiParameter parameter)
    {
        parameter.Description = "A bare address, URL-encoded; any spelling finds its entry (case, and an internationalised domain either way). "
            + "Anything else is a 400 naming 'address'.";
        // idn-email (RFC 6531), not email: an address with an internationalised domain or local part is taken as it is.
        parameter.Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "idn-email" };
        return parameter;
    }

    private static OpenApiParameter Uuid(OpenApiParameter parameter, string description)
    {
        parameter.Description = description;
        parameter.Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "uuid" };
        return parameter;
    }

    /// <summary>The bounds every list's validator enforces (<see cref="PageQueryValidator"/>).</summary>
    private static OpenApiParameter Bounded(OpenApiParameter parameter)
    {
        parameter.Schema = new OpenApiSchema
        {
            Type = JsonSchemaType.Integer,
            Format = "int32",
            Minimum = "1",
            Maximum = Paging.MaxLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Default = Paging.DefaultLimit,
        };
        return parameter;
    }

    private static string? Describe(string status, string? operationId, bool submit) => status switch
    {
        "200" when operationId == "CancelMessage" => "Canceled: no SMTP dialogue starts for it from now on.",
        "200" when operationId == "ListMessages" => "A page of summaries, newest first; nextCursor is null on the last page.",
        "200" => "The message with its status, recipients' replies, queue id and every attempt's transcript.",
        "202" when operationId == "SendBatch" => "Every message stored and queued, in request order. Each will reach a final status.",
        "202" => "Stored and queued (or scheduled): it will reach a final status. Poll the Location for it.",
        "400" when submit => "Validation failed: every failing field at once, keyed by JSON path (from, to[1], messages[3].subject). Nothing was stored.",
        "400" => "A query parameter is not valid; errors are keyed by its name.",
        "401" => "No API key, or one the service does not know.",
        "403" => "The key may not send as this from address (errors.from). Nothing was stored.",
        "404" => "No such message for this API key.",
        "409" when operationId == "CancelMessage" => "The message is past canceling; the detail names its status.",
        "409" => "This Idempotency-Key was used with a different body in the last 24 hours. Nothing was stored.",
        "413" => "The body is larger than Limits:MaxRequestBytes.",
        "415" => "The body is not application/json.",
        "429" => "This API key made more requests this minute than RateLimit:PerKeyPerMinute (or its own RateLimitPerMinute) allows. "
            + "Nothing was stored. Retry after Retry-After.",
        "503" when submit => "Nothing was stored: the message store is unreachable, or more messages (or bytes) are waiting than "
            + "Limits:MaxPendingMessages / Limits:MaxPendingBytes allow. Retry after Retry-After.",
        "503" => "The message store is unreachable; retry after Retry-After.",
        _ => null,
    };
}
