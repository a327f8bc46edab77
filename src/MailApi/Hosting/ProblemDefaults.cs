namespace MailApi.Hosting;

/// <summary>
/// Every problem answer carries a <c>detail</c>, including those the framework writes with a bare status code
/// (routing's 415 for a body that is not JSON, a 404 for an unknown path, Hangfire's 403).
/// </summary>
public static class ProblemDefaults
{
    public static void FillDetail(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        if (!string.IsNullOrEmpty(problem.Detail))
        {
            return;
        }
        var request = context.HttpContext.Request;
        problem.Detail = problem.Status switch
        {
            StatusCodes.Status401Unauthorized => "Send an API key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'.",
            // The only bare 403: Hangfire's answer to a dashboard action posted without its page's antiforgery token.
            StatusCodes.Status403Forbidden => "The request is not allowed; a dashboard action needs the antiforgery token of the dashboard page.",
            StatusCodes.Status404NotFound => $"Nothing is served at '{request.Path}'.",
            StatusCodes.Status405MethodNotAllowed => $"'{request.Method}' is not allowed on '{request.Path}'.",
            StatusCodes.Status415UnsupportedMediaType => "Send the body as 'Content-Type: application/json' in UTF-8.",
            _ => problem.Title,
        };
    }
}
