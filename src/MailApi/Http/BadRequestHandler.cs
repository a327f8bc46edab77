using System.Text.RegularExpressions;
using MailApi.Hosting;
using Microsoft.AspNetCore.Diagnostics;

namespace MailApi.Http;

/// <summary>
/// A route, query or header value the framework cannot bind (<c>?createdAfter=tomorrow</c>, <c>?limit=abc</c>) is a 400
/// naming the parameter, in every environment: the framework throws <see cref="BadHttpRequestException"/> for it
/// (<c>ThrowOnBadRequest</c> is on everywhere, see <see cref="HostingExtensions"/>), and this turns it into the same
/// validation problem as any other field. The framework's message names the C# parameter and its .NET type
/// (<c>Nullable&lt;DateTimeOffset&gt; CreatedAfter</c>); a caller reads the parameter as the API spells it and what it must be.
/// </summary>
public sealed partial class BadRequestHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad || context.Response.HasStarted)
        {
            return false;
        }
        var (name, error) = Describe(bad.Message);
        context.Response.StatusCode = bad.StatusCode;
        var problem = new HttpValidationProblemDetails(new Dictionary<string, string[]> { [name] = [error] })
        {
            Status = bad.StatusCode,
            Title = bad.StatusCode == StatusCodes.Status400BadRequest ? "The request is not valid" : "The request could not be read",
            Detail = error,
        };
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, Exception = exception, ProblemDetails = problem });
    }

    /// <summary>
    /// The parameter as callers spell it and what is wrong with it, from the framework's message:
    /// <c>Failed to bind parameter "Nullable&lt;DateTimeOffset&gt; CreatedAfter" from "tomorrow".</c> →
    /// (<c>createdAfter</c>, <c>createdAfter must be a date-time (RFC 3339) …; 'tomorrow' is not.</c>).
    /// A message of another shape is kept whole under the key <c>""</c>.
    /// </summary>
    internal static (string Name, string Error) Describe(string message)
    {
        if (BoundParameter().Match(message) is { Success: true } bound)
        {
            var name = ValidationErrors.JsonPath(bound.Groups["name"].Value);
            return (name, $"{name} must be {Expected(bound.Groups["type"].Value)}; '{bound.Groups["value"].Value}' is not.");
        }
        if (MissingParameter().Match(message) is { Success: true } missing)
        {
            var name = ValidationErrors.JsonPath(missing.Groups["name"].Value);
            return (name, $"{name} is required: it must be {Expected(missing.Groups["type"].Value)}.");
        }
        return ("", message);
    }

    /// <summary>What a value of the .NET type <paramref name="type"/> (as the framework prints it) looks like on the wire.</summary>
    private static string Expected(string type) => Unwrap(type) switch
    {
        "DateTimeOffset" or "DateTime" => "a date-time (RFC 3339), such as 2026-12-01T10:00:00Z",
        "int" or "long" or "short" or "Int32" or "Int64" or "Int16" => "a whole number",
        "bool" or "Boolean" => "true or false",
        "Guid" => "a UUID",
        "double" or "float" or "decimal" or "Double" or "Single" or "Decimal" => "a number",
        _ => "a value of another form",
    };

    /// <summary><c>Nullable&lt;X&gt;</c> and <c>X?</c> are X: an absent value is not what failed.</summary>
    private static string Unwrap(string type) =>
        type.StartsWith("Nullable<", StringComparison.Ordinal) && type.EndsWith('>') ? type[9..^1] : type.TrimEnd('?');

    [GeneratedRegex("""parameter "(?<type>[^" ]+) (?<name>[A-Za-z_][A-Za-z0-9_]*)" from "(?<value>[^"]*)"\.""")]
    private static partial Regex BoundParameter();

    [GeneratedRegex("""^Required parameter "(?<type>[^" ]+) (?<name>[A-Za-z_][A-Za-z0-9_]*)" was not provided""")]
    private static partial Regex MissingParameter();
}
