namespace MailApi.Http;

/// <summary>
/// A problem is written whatever the request's Accept header says. The framework's writer declines a request that
/// accepts neither JSON nor problem+json (<c>GET /v1/bounces/{id}/raw</c> asks for message/rfc822), and a declined
/// problem became a bare 500; a wrong key must still read as the 401 problem (RFC 9110 §12.1 lets a server answer
/// outside Accept). Registered after the framework's writer, so it is asked only when that one declines.
/// </summary>
public sealed class ProblemJsonFallback : IProblemDetailsWriter
{
    private const string ProblemJson = "application/problem+json";

    // Declining once Accept is problem+json ends a loop should the framework's writer decline for another reason.
    public bool CanWrite(ProblemDetailsContext context) => context.HttpContext.Request.Headers.Accept != ProblemJson;

    /// <summary>The framework's writer, asked again as if problem+json were accepted: its defaults and ProblemDefaults apply.</summary>
    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        context.HttpContext.Request.Headers.Accept = ProblemJson;
        return context.HttpContext.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(context);
    }
}
