using Microsoft.AspNetCore.Http.HttpResults;

namespace MailApi.Http;

/// <summary>The problem+json answers of the API (RFC 9457), each with type, title, status and detail.</summary>
public static class ApiProblems
{
    public static ProblemHttpResult Validation(
        IDictionary<string, string[]> errors, int status = StatusCodes.Status400BadRequest, string? detail = null) =>
        TypedResults.Problem(new HttpValidationProblemDetails(errors)
        {
            Status = status,
            Title = status == StatusCodes.Status403Forbidden ? "Sender not allowed" : "The request is not valid",
            Detail = detail ?? $"{errors.Count} field(s) failed validation: {string.Join(", ", errors.Keys)}.",
        });

    public static ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Message not found",
            detail: $"No message with id '{id}' exists for this API key.");

    public static ProblemHttpResult Conflict(string title, string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: title, detail: detail);

    public static ProblemHttpResult Overloaded(HttpContext context, TimeSpan retryAfter, string reason)
    {
        context.Response.Headers.RetryAfter = ((int)retryAfter.TotalSeconds).ToString();
        return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Too many messages waiting",
            detail: $"{reason} Nothing was stored. Retry later.");
    }
}
