using System.Text.RegularExpressions;
using MailApi.Hosting;
using Microsoft.AspNetCore.Diagnostics;

namespace MailApi.Http;

/// <summary>
/// A route, query or header value the framework cannot bind (<c>?createdAfter=tomorrow</c>, <c>?limit=abc</c>) is a 400
/// naming the parameter, in every environment: the framework throws <see cref="BadHttpRequestException"/> for it
/// (<c>ThrowOnBadRequest</c> is on everywhere, see <see cref="HostingExtensions"/>), and this turns it into the same
/// validation problem as any other field.
/// </summary>
public sealed partial class BadRequestHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad || context.Response.HasStarted)
        {
            return false;
        }
        // "Failed to bind parameter "DateTimeOffset? CreatedAfter" from "tomorrow"." → createdAfter
        var match = BoundParameter().Match(bad.Message);
        var name = match.Success ? ValidationErrors.JsonPath(match.Groups["name"].Value) : "";
        var error = match.Success ? $"'{match.Groups["value"].Value}' is not a valid value for '{name}'." : bad.Message;
        context.Response.StatusCode = bad.StatusCode;
        var problem = new HttpValidationProblemDetails(new Dictionary<string, string[]> { [name] = [error] })
        {
            Status = bad.StatusCode,
            Title = bad.StatusCode == StatusCodes.Status400BadRequest ? "The request is not valid" : "The request could not be read",
            Detail = bad.Message,
        };
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, Exception = exception, ProblemDetails = problem });
    }

    [GeneratedRegex("""parameter "(?:[^"]* )?(?<name>[A-Za-z_][A-Za-z0-9_]*)" from "(?<value>[^"]*)"\.""")]
    private static partial Regex BoundParameter();
}
