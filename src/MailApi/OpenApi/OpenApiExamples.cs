using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace MailApi.OpenApi;

/// <summary>An example on every request body and every answer, so Swagger UI's "Try it out" starts from a working message.</summary>
public sealed class OpenApiExamples : IOperationFilter
{
    public const string SendBody = """
        {
          "from": "Zotrim <zotrim@domain.local>",
          "to": ["student@domain.local"],
          "cc": [],
          "bcc": [],
          "replyTo": [],
          "subject": "Test message",
          "text": "Hello,\nIt's a simple message.\n\nZotrim Uka",
          "html": "<p>Hello,</p><p>It's a simple message.</p><p>Zotrim Uka</p>",
          "headers": { "X-Campaign": "welcome" },
          "attachments": [],
          "tags": ["welcome"],
          "metadata": { "userId": "42" }
        }
        """;

    public const string Resource = """
        {
          "id": "0193f1e2-7c1a-7b3e-9a55-6c1f1e0d2a11",
          "status": "sent",
          "createdAt": "2026-11-28T10:00:00+00:00", "updatedAt": "2026-11-28T10:00:00.21+00:00",
          "sendAt": null, "sentAt": "2026-11-28T10:00:00.21+00:00",
          "from": "Zotrim <zotrim@domain.local>", "to": ["student@domain.local"], "cc": [], "bcc": [],
          "replyTo": [], "subject": "Test message", "tags": ["welcome"], "metadata": { "userId": "42" },
          "messageId": "<0193f1e2-7c1a-7b3e-9a55-6c1f1e0d2a11@domain.local>",
          "upstream": "smtp.domain.local:587",
          "queueId": "092D0CD01",
          "finalReply": { "code": 250, "enhancedCode": "2.0.0", "text": "Ok: queued as 092D0CD01" },
          "recipients": [
            { "address": "student@domain.local", "status": "accepted", "reply": { "code": 250, "enhancedCode": "2.1.5", "text": "Ok" } }
          ],
          "attempts": [
            { "number": 1, "startedAt": "2026-11-28T10:00:00.01+00:00", "finishedAt": "2026-11-28T10:00:00.21+00:00",
              "outcome": "sent", "error": null, "upstream": "smtp.domain.local:587", "connectionId": "ebe947-1", "reusedConnection": false, "failedOver": false,
              "transcript": [
                { "command": null, "reply": { "code": 220, "enhancedCode": null, "text": "profbox.domain.local ESMTP Postfix" } },
                { "command": "EHLO mailapi.local", "reply": { "code": 250, "enhancedCode": null, "text": "profbox.domain.local\nPIPELINING\nSTARTTLS\nAUTH PLAIN LOGIN" } },
                { "command": "AUTH LOGIN ***", "reply": { "code": 235, "enhancedCode": "2.7.0", "text": "Authentication successful" } },
                { "command": "MAIL FROM:<zotrim@domain.local>", "reply": { "code": 250, "enhancedCode": "2.1.0", "text": "Ok" } },
                { "command": "RCPT TO:<student@domain.local>", "reply": { "code": 250, "enhancedCode": "2.1.5", "text": "Ok" } },
                { "command": "DATA", "reply": { "code": 354, "enhancedCode": null, "text": "End data with <CR><LF>.<CR><LF>" } },
                { "command": ".", "reply": { "code": 250, "enhancedCode": "2.0.0", "text": "Ok: queued as 092D0CD01" } },
                { "command": "QUIT", "reply": { "code": 221, "enhancedCode": "2.0.0", "text": "Bye" } }
              ] }
          ],
          "nextAttemptAt": null,
          "possibleDuplicate": false
        }
        """;

    /// <summary>What a 202 really carries: stored, no attempt yet, every recipient pending and every reply null.</summary>
    public const string Queued = """
        {
          "id": "0193f1e2-7c1a-7b3e-9a55-6c1f1e0d2a11",
          "status": "queued",
          "createdAt": "2026-11-28T10:00:00+00:00", "updatedAt": "2026-11-28T10:00:00+00:00",
          "sendAt": null, "sentAt": null,
          "from": "Zotrim <zotrim@domain.local>", "to": ["student@domain.local"], "cc": [], "bcc": [],
          "replyTo": [], "subject": "Test message", "tags": ["welcome"], "metadata": { "userId": "42" },
          "messageId": "<0193f1e2-7c1a-7b3e-9a55-6c1f1e0d2a11@domain.local>",
          "upstream": null, "queueId": null, "finalReply": null,
          "recipients": [ { "address": "student@domain.local", "status": "pending", "reply": null } ],
          "attempts": [],
          "nextAttemptAt": null,
          "possibleDuplicate": false
        }
        """;

    private static readonly string Scheduled = Queued
        .Replace("\"status\": \"queued\"", "\"status\": \"scheduled\"", StringComparison.Ordinal)
        .Replace("\"sendAt\": null", "\"sendAt\": \"2026-11-28T18:00:00+00:00\"", StringComparison.Ordinal);

    private static readonly string Canceled = Scheduled
        .Replace("\"status\": \"scheduled\"", "\"status\": \"canceled\"", StringComparison.Ordinal)
        .Replace("\"updatedAt\": \"2026-11-28T10:00:00+00:00\"", "\"updatedAt\": \"2026-11-28T10:05:00+00:00\"", StringComparison.Ordinal);

    private static readonly Dictionary<string, string> Problems = new()
    {
        ["400"] = """{ "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1", "title": "The request is not valid", "status": 400, "detail": "2 field(s) failed validation: from, to[1].", "errors": { "from": ["'from' is required."], "to[1]": ["'not-an-address' is not a mailbox: use \"Name <local@domain>\" or \"local@domain\", without CR or LF."] } }""",
        ["401"] = """{ "type": "https://tools.ietf.org/html/rfc9110#section-15.5.2", "title": "Unauthorized", "status": 401, "detail": "Send an API key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'." }""",
        ["403"] = """{ "type": "https://tools.ietf.org/html/rfc9110#section-15.5.4", "title": "Sender not allowed", "status": 403, "detail": "1 field(s) failed validation: from.", "errors": { "from": ["The API key 'billing' may not send as 'ceo@domain.local'."] } }""",
        ["409"] = """{ "type": "https://tools.ietf.org/html/rfc9110#section-15.5.10", "title": "The message cannot be canceled", "status": 409, "detail": "The message is sent; only scheduled, queued or deferred messages can be canceled." }""",
        ["404"] = """{ "type": "https://tools.ietf.org/html/rfc9110#section-15.5.5", "title": "Message not found", "status": 404, "detail": "No message with id '0193f1e2-0000-7000-8000-000000000000' exists for this API key." }""",
        ["413"] = """{ "type": "https://tools.ietf.org/html/rfc9110#section-15.5.14", "title": "Request too large", "status": 413, "detail": "The request body is 40000000 bytes; Limits:MaxRequestBytes allows 31457280." }""",
        ["415"] = """{ "type": "https://tools.ietf.org/html/rfc9110#section-15.5.16", "title": "Unsupported Media Type", "status": 415, "detail": "Send the message as 'Content-Type: application/json'." }""",
        ["429"] = """{ "type": "https://tools.ietf.org/html/rfc6585#section-4", "title": "Too many requests", "status": 429, "detail": "This API key may make 600 requests a minute; nothing of this request was stored. Retry after 12 s." }""",
    };

    private const string Overloaded = """{ "type": "https://tools.ietf.org/html/rfc9110#section-15.6.4", "title": "Too many messages waiting", "status": 503, "detail": "More messages are waiting to be sent than Limits:MaxPendingMessages allows. Nothing was stored. Retry later." }""";

    private const string StorageUnavailable = """{ "type": "https://tools.ietf.org/html/rfc9110#section-15.6.4", "title": "Storage unavailable", "status": 503, "detail": "The message store cannot be reached right now, so the request was not carried out (no message was accepted). Retry later." }""";

    private const string IdempotencyConflict = """{ "type": "https://tools.ietf.org/html/rfc9110#section-15.5.10", "title": "Idempotency-Key reused", "status": 409, "detail": "This Idempotency-Key was used in the last 24 hours with a different body; nothing was stored." }""";

    private static readonly string BatchBody = $$"""{ "messages": [ {{SendBody}} ] }""";

    private static readonly string BatchResult = $$"""{ "items": [ {{Queued}} ] }""";

    private const string ListResult = """
        {
          "items": [
            { "id": "0193f1e2-7c1a-7b3e-9a55-6c1f1e0d2a11", "status": "sent", "from": "Zotrim <zotrim@domain.local>",
              "to": ["student@domain.local"], "subject": "Test message", "createdAt": "2026-11-28T10:00:00+00:00",
              "sentAt": "2026-11-28T10:00:00.21+00:00", "queueId": "092D0CD01" }
          ],
          "nextCursor": "AZPx4nwaezaVWwfHg0qEQ"
        }
        """;

    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        var batch = operation.OperationId == "SendBatch";
        if (operation.RequestBody?.Content is { } requestContent)
        {
            foreach (var media in requestContent.Values)
            {
                ((OpenApiMediaType)media).Example = JsonNode.Parse(batch ? BatchBody : SendBody);
            }
        }
        var success = operation.OperationId switch
        {
            "SendBatch" => BatchResult,
            "ListMessages" => ListResult,
            "CancelMessage" => Canceled,
            _ => Resource,
        };
        foreach (var (status, response) in operation.Responses ?? [])
        {
            if (status == "503" && response.Content is not null)
            {
                SetOutageExamples(response.Content.Values, submit: operation.OperationId is "SendMessage" or "SendBatch");
                continue;
            }
            if (status == "202" && operation.OperationId == "SendMessage" && response.Content is not null)
            {
                SetExamples(response.Content.Values, ("queued", "Stored and queued: no attempt yet, every reply null", Queued),
                    ("scheduled", "Stored to be sent at sendAt", Scheduled));
                continue;
            }
            var example = status switch
            {
                "200" or "202" => success,
                "409" when operation.OperationId != "CancelMessage" => IdempotencyConflict,
                _ => Problems.GetValueOrDefault(status),
            };
            if (example is null || response.Content is null)
            {
                continue;
            }
            foreach (var media in response.Content.Values)
            {
                ((OpenApiMediaType)media).Example = JsonNode.Parse(example);
            }
        }
    }

    /// <summary>A submit can meet either outage; every other route only the store's.</summary>
    private static void SetOutageExamples(IEnumerable<IOpenApiMediaType> media, bool submit)
    {
        if (submit)
        {
            SetExamples(media, ("overloaded", "Too many messages waiting (backpressure)", Overloaded),
                ("storage", "The message store is unreachable", StorageUnavailable));
            return;
        }
        foreach (var type in media.OfType<OpenApiMediaType>())
        {
            type.Example = JsonNode.Parse(StorageUnavailable);
        }
    }

    private static void SetExamples(IEnumerable<IOpenApiMediaType> media, params (string Name, string Summary, string Json)[] examples)
    {
        foreach (var type in media.OfType<OpenApiMediaType>())
        {
            type.Examples = examples.ToDictionary(e => e.Name, e => (IOpenApiExample)new OpenApiExample { Summary = e.Summary, Value = JsonNode.Parse(e.Json) });
        }
    }
}
