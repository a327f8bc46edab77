using MailApi.Storage;
using Microsoft.AspNetCore.Diagnostics;

namespace MailApi.Hosting;

/// <summary>
/// A request that met a storage outage answers 503 with <c>Retry-After</c> instead of 500: callers retry a 503, and
/// nothing of the request was answered 202 (a message is answered 202 only once it is stored).
/// </summary>
public sealed class StorageOutageHandler(IProblemDetailsService problems, ILogger<StorageOutageHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (!StorageOutage.Is(exception))
        {
            return false;
        }
        logger.LogWarning("{Method} {Path} answered 503: the store is unreachable ({Error})", context.Request.Method, context.Request.Path, exception.Message);
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.RetryAfter = ((int)StorageOutage.RetryAfter.TotalSeconds).ToString();
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails =
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "Storage unavailable",
                Detail = "The message store cannot be reached right now, so the request was not carried out (no message was accepted). Retry later.",
            },
        });
    }
}
