using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace MailApi.OpenApi;

/// <summary>Examples and answer texts of the suppression-list operations, over what every operation gets (those speak of messages).</summary>
public sealed class OpenApiSuppressionExamples : IOperationFilter
{
    private const string Entry = """
        { "address": "gone@domain.local", "reason": "rejected", "createdAt": "2026-12-01T10:00:00.21+00:00", "expiresAt": null,
          "source": { "messageId": "0193f1e2-7c1a-7b3e-9a55-6c1f1e0d2a11", "status": "5.1.1",
            "diagnostic": "smtp; 550 5.1.1 <gone@domain.local>: Recipient address rejected: User unknown" } }
        """;

    private const string Manual = """
        { "address": "gone@domain.local", "reason": "manual", "createdAt": "2026-12-01T10:00:00+00:00", "expiresAt": "2099-01-01T00:00:00+00:00", "source": null }
        """;

    private const string NotFound = """{ "type": "https://tools.ietf.org/html/rfc9110#section-15.5.5", "title": "Address not suppressed", "status": 404, "detail": "'gone@domain.local' is not on this API key's suppression list." }""";

    private const string Invalid = """{ "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1", "title": "The request is not valid", "status": 400, "detail": "1 field(s) failed validation: address.", "errors": { "address": ["'not-an-address' is not an e-mail address (local part, '@' and domain, nothing else)."] } }""";

    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        var (success, description) = operation.OperationId switch
        {
            "ListSuppressions" => ($$"""{ "items": [ {{Entry}} ], "nextCursor": null }""", "A page of this key's entries that still suppress, newest first."),
            "GetSuppression" => (Entry, "The entry: why, since when, until when, and the message whose delivery put it there."),
            "PutSuppression" => (Manual, "The entry as stored: 201 when the address was not suppressed, 200 when its entry was replaced."),
            "DeleteSuppression" => (null, "Removed: the address is mailed again."),
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
                media.Example = JsonNode.Parse("""{ "reason": "manual", "expiresAt": "2099-01-01T00:00:00Z" }""");
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
                "200" or "201" or "204" => success,
                "404" => NotFound,
                "400" => Invalid,
                _ => null,
            };
            response.Description = status switch
            {
                "200" or "201" or "204" => description,
                "404" => "The address is not on this key's list (or its entry expired).",
                "400" => "The address, the body or the query is not valid; errors name the field (address, reason, expiresAt); nothing changed.",
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
}
