using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace MailApi.OpenApi;

/// <summary>Examples and answer texts of the bounce operations, over what every operation gets (those speak of messages).</summary>
public sealed class OpenApiBounceExamples : IOperationFilter
{
    /// <summary>A DSN as Postfix writes it, trimmed: what a relay's bounce looks like when it is piped to <c>POST /v1/bounces</c>.</summary>
    public const string Dsn = """
        From: Mail Delivery System <MAILER-DAEMON@relay.domain.local>
        Subject: Undelivered Mail Returned to Sender
        To: zotrim@domain.local
        Auto-Submitted: auto-replied
        Message-Id: <20261201100500.092D0CD01@relay.domain.local>
        MIME-Version: 1.0
        Content-Type: multipart/report; report-type=delivery-status; boundary="b"

        --b
        Content-Type: text/plain

        I'm sorry to have to inform you that your message could not be delivered.

        --b
        Content-Type: message/delivery-status

        Reporting-MTA: dns; relay.domain.local
        X-Postfix-Queue-ID: 092D0CD01
        Original-Envelope-Id: 0193f1e2-7c1a-7b3e-9a55-6c1f1e0d2a11

        Final-Recipient: rfc822; gone@domain.local
        Original-Recipient: rfc822;gone@domain.local
        Action: failed
        Status: 5.1.1
        Remote-MTA: dns; mx.domain.local
        Diagnostic-Code: smtp; 550 5.1.1 <gone@domain.local>: Recipient address rejected: User unknown

        --b
        Content-Type: text/rfc822-headers

        Message-ID: <0193f1e2-7c1a-7b3e-9a55-6c1f1e0d2a11@domain.local>
        From: Zotrim <zotrim@domain.local>
        To: gone@domain.local
        Subject: Test message

        --b--
        """;

    private const string Report = """
        { "id": "0193f1e4-4444-7b3e-9a55-6c1f1e0d2a11", "receivedAt": "2026-12-01T10:05:00+00:00", "via": "http", "kind": "dsn",
          "from": "MAILER-DAEMON@relay.domain.local", "subject": "Undelivered Mail Returned to Sender", "reportingMta": "relay.domain.local",
          "matchedBy": "envelope_id", "messageId": "0193f1e2-7c1a-7b3e-9a55-6c1f1e0d2a11",
          "recipients": [ { "address": "gone@domain.local", "action": "failed", "status": "5.1.1",
            "diagnostic": "smtp; 550 5.1.1 <gone@domain.local>: Recipient address rejected: User unknown", "class": "hard" } ],
          "reason": null }
        """;

    private const string NotFound = """{ "type": "https://tools.ietf.org/html/rfc9110#section-15.5.5", "title": "Report not found", "status": 404, "detail": "No bounce report with id '0193f1e4-0000-7000-8000-000000000000' is logged." }""";

    private const string Forbidden = """{ "type": "https://tools.ietf.org/html/rfc9110#section-15.5.4", "title": "Bounces not allowed", "status": 403, "detail": "The API key 'billing' is not configured with Bounces: true, which the bounce intake and its log need.", "errors": { "": ["The API key 'billing' is not configured with Bounces: true, which the bounce intake and its log need."] } }""";

    private const string Invalid = """{ "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1", "title": "The request is not valid", "status": 400, "detail": "1 field(s) failed validation: limit.", "errors": { "limit": ["'limit' must be between 1 and 100."] } }""";

    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        var (success, description) = operation.OperationId switch
        {
            "PostBounce" => (Report, "Taken in and logged: matched to its message (which now shows the bounce), or unmatched with the reason. "
                + "The same report again answers with the report as first logged."),
            "ListBounces" => ($$"""{ "items": [ {{Report}} ], "nextCursor": null }""", "A page of the report log, newest first."),
            "GetBounce" => (Report, "The report as logged."),
            "GetBounceRaw" => (null, "The report's mail as it was received."),
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
                media.Example = JsonValue.Create(Dsn.ReplaceLineEndings("\r\n"));
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
                "200" or "202" => success,
                "403" => Forbidden,
                "404" => NotFound,
                "400" when operation.OperationId == "ListBounces" => Invalid,
                _ => null,
            };
            response.Description = status switch
            {
                "200" or "202" => description,
                "403" => "The API key is not configured with Bounces: true.",
                "404" => "No such report in the log (or past Bounces:Retention).",
                "400" when operation.OperationId == "PostBounce" => "The body is not a mail, or 'to' is not an address; nothing was logged.",
                _ => response.Description,
            };
            if (status == "200" && operation.OperationId == "GetBounceRaw" && response.Content is { } raw)
            {
                foreach (var media in raw.Values.OfType<OpenApiMediaType>())
                {
                    media.Example = JsonValue.Create(Dsn.ReplaceLineEndings("\r\n"));
                }
            }
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
}
