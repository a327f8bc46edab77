using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace MailApi.OpenApi;

/// <summary>
/// Examples and answer texts of the webhook operations and of a message's events, over what <see cref="OpenApiExamples"/>
/// and <see cref="OpenApiAnswers"/> give every operation (those speak of messages).
/// </summary>
public sealed class OpenApiWebhookExamples : IOperationFilter
{
    private const string Endpoint = """
        { "id": "0193f1e3-1111-7b3e-9a55-6c1f1e0d2a11", "url": "https://hooks.domain.local/mail", "events": ["message.sent", "message.failed"],
          "description": "orders", "enabled": true, "disabledReason": null,
          "createdAt": "2026-12-01T10:00:00+00:00", "updatedAt": "2026-12-01T10:00:00+00:00" }
        """;

    private const string Created = """
        { "id": "0193f1e3-1111-7b3e-9a55-6c1f1e0d2a11", "url": "https://hooks.domain.local/mail", "events": ["message.sent", "message.failed"],
          "description": "orders", "enabled": true, "disabledReason": null,
          "createdAt": "2026-12-01T10:00:00+00:00", "updatedAt": "2026-12-01T10:00:00+00:00",
          "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw/1/ZpbLHZbk=" }
        """;

    private const string CreateBody = """{ "url": "https://hooks.domain.local/mail", "events": ["message.sent", "message.failed"], "description": "orders" }""";

    private const string UpdateBody = """{ "enabled": true }""";

    private const string Delivery = """
        { "id": "0193f1e3-2222-7b3e-9a55-6c1f1e0d2a11", "endpointId": "0193f1e3-1111-7b3e-9a55-6c1f1e0d2a11",
          "eventId": "0193f1e3-3333-7b3e-9a55-6c1f1e0d2a11",
          "messageId": "0193f1e2-7c1a-7b3e-9a55-6c1f1e0d2a11", "type": "message.sent", "status": "delivered",
          "attempts": [
            { "at": "2026-12-01T10:00:01+00:00", "statusCode": 503, "durationMs": 41, "error": "Answered 503 Service Unavailable.", "responseBody": "busy" },
            { "at": "2026-12-01T10:00:07+00:00", "statusCode": 200, "durationMs": 12, "error": null, "responseBody": null }
          ],
          "nextAttemptAt": null, "createdAt": "2026-12-01T10:00:01+00:00" }
        """;

    private const string Event = """
        { "id": "0193f1e3-3333-7b3e-9a55-6c1f1e0d2a11", "type": "message.sent", "timestamp": "2026-11-28T10:00:00.21+00:00",
          "data": { "id": "0193f1e2-7c1a-7b3e-9a55-6c1f1e0d2a11", "status": "sent", "sequence": 1, "attempt": 1,
            "from": "Zotrim <zotrim@domain.local>", "to": ["student@domain.local"], "subject": "Test message", "tags": ["welcome"],
            "metadata": { "userId": "42" }, "upstream": "smtp.domain.local:587", "queueId": "092D0CD01",
            "reply": { "code": 250, "enhancedCode": "2.0.0", "text": "Ok: queued as 092D0CD01" }, "error": null,
            "recipients": [ { "address": "student@domain.local", "status": "accepted", "reply": { "code": 250, "enhancedCode": "2.1.5", "text": "Ok" } } ],
            "nextAttemptAt": null, "possibleDuplicate": false, "recipientsTruncated": false } }
        """;

    private const string NotFound = """{ "type": "https://tools.ietf.org/html/rfc9110#section-15.5.5", "title": "Webhook not found", "status": 404, "detail": "No webhook endpoint with id '0193f1e3-0000-7000-8000-000000000000' exists for this API key." }""";

    private const string Invalid = """{ "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1", "title": "The request is not valid", "status": 400, "detail": "1 field(s) failed validation: url.", "errors": { "url": ["'url': the host 'localhost' is or resolves to 127.0.0.1, a loopback, private, link-local, unique-local or multicast address (Webhooks:AllowPrivateTargets is off)."] } }""";

    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        var (success, description) = operation.OperationId switch
        {
            "ListMessageEvents" => ($$"""{ "items": [ {{Event}} ] }""", "Every status change of the message, oldest first."),
            "ListMessageDeliveries" => ($$"""{ "items": [ {{Delivery}} ] }""",
                "Every delivery of the message's events to this key's endpoints, oldest first, with every try."),
            "CreateWebhook" => (Created, "The endpoint, with its signing secret (shown this once); Location is its address."),
            "ListWebhooks" => ($$"""{ "items": [ {{Endpoint}} ] }""", "This key's endpoints, oldest first, without their secrets."),
            "GetWebhook" or "UpdateWebhook" => (Endpoint, "The endpoint, without its secret."),
            "RotateWebhookSecret" => ("""{ "secret": "whsec_q0f0Y3vI9a5n3QJm0eW8mLZl8j3Xk5b1yq9kH1dQGvA=" }""",
                "The new secret, shown this once; the old one signs beside it for Webhooks:SecretOverlap."),
            "TestWebhook" or "RetryWebhookDelivery" => (Delivery, "Queued: the delivery is sent now, and its tries appear in the delivery log."),
            "ListWebhookDeliveries" => ($$"""{ "items": [ {{Delivery}} ], "nextCursor": null }""", "A page of deliveries, newest first."),
            "DeleteWebhook" => (null, "Deleted, with its delivery log."),
            _ => (null, null),
        };
        if (description is null)
        {
            return;
        }
        if (operation.RequestBody?.Content is { } requestContent)
        {
            foreach (var media in requestContent.Values.OfType<OpenApiMediaType>())
            {
                media.Example = JsonNode.Parse(operation.OperationId == "CreateWebhook" ? CreateBody : UpdateBody);
            }
        }
        foreach (var (status, answer) in operation.Responses ?? [])
        {
            if (answer is not OpenApiResponse response)
            {
                continue;
            }
            var example = status switch
            {
                "200" or "201" or "202" or "204" => success,
                "404" => OfMessage(operation) ? null : NotFound,
                "400" when operation.OperationId is "CreateWebhook" or "UpdateWebhook" => Invalid,
                _ => null,
            };
            response.Description = status switch
            {
                "200" or "201" or "202" or "204" => description,
                "404" when !OfMessage(operation) => "No such webhook endpoint (or delivery) for this API key.",
                "400" when operation.OperationId is "CreateWebhook" or "UpdateWebhook" =>
                    "Validation failed, keyed by JSON path (url, events[1], description); nothing was stored or changed.",
                _ => response.Description,
            };
            if (example is null || response.Content is null)
            {
                continue;
            }
            foreach (var media in response.Content.Values.OfType<OpenApiMediaType>())
            {
                media.Example = JsonNode.Parse(example);
            }
        }
    }

    /// <summary>The operations under <c>/v1/messages/{id}</c>: their 404 is the message's (<see cref="OpenApiExamples"/>).</summary>
    private static bool OfMessage(OpenApiOperation operation) => operation.OperationId is "ListMessageEvents" or "ListMessageDeliveries";
}
