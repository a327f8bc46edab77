using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using JsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace MailApi.Http;

/// <summary>
/// A request body read as JSON here rather than by the framework's binder. The binder answers a value of the wrong
/// type, a duplicate key or a null body with a bare 400 in Production and throws in Development (a 500 with a stack
/// trace); the contract wants a problem whose <c>errors</c> name the JSON path, in every environment.
/// </summary>
public sealed class JsonBody<T> where T : class
{
    private JsonBody(T? value, ProblemHttpResult? problem)
    {
        Value = value;
        Problem = problem;
    }

    /// <summary>The body, when <see cref="Problem"/> is null.</summary>
    public T? Value { get; }

    /// <summary>Why the body is not a <typeparamref name="T"/>, or null.</summary>
    public ProblemHttpResult? Problem { get; }

    /// <summary>Minimal APIs call this for a <see cref="JsonBody{T}"/> parameter; it never throws for what the caller sent.</summary>
    public static async ValueTask<JsonBody<T>> BindAsync(HttpContext context)
    {
        var request = context.Request;
        if (string.IsNullOrEmpty(request.ContentType))
        {
            return Invalid("The request has no Content-Type: send the message as JSON with 'Content-Type: application/json'.");
        }
        if (!request.HasJsonContentType() || !IsUtf8(request.ContentType))
        {
            return new(null, TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported Media Type",
                detail: $"The body is '{request.ContentType}'; send the message as 'Content-Type: application/json' in UTF-8."));
        }
        if (request.ContentLength == 0)
        {
            return Invalid("The body is empty; it must be a JSON object.");
        }
        var options = context.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        try
        {
            var value = await JsonSerializer.DeserializeAsync<T>(request.Body, options, context.RequestAborted);
            return value is null ? Invalid("The body is null; it must be a JSON object.") : new(value, null);
        }
        catch (JsonException e)
        {
            var errors = JsonErrors.For(e, typeof(T), options);
            return new(null, ApiProblems.Validation(errors, detail: errors.Values.Single()[0]));
        }
        catch (BadHttpRequestException e)
        {
            // Kestrel's own answers while reading: the body outgrew Limits:MaxRequestBytes (413), or ended early.
            return new(null, TypedResults.Problem(statusCode: e.StatusCode,
                title: e.StatusCode == StatusCodes.Status413PayloadTooLarge ? "Request too large" : "The request body could not be read",
                detail: e.StatusCode == StatusCodes.Status413PayloadTooLarge ? "The request body is larger than Limits:MaxRequestBytes allows." : e.Message));
        }
    }

    private static JsonBody<T> Invalid(string message) =>
        new(null, ApiProblems.Validation(new Dictionary<string, string[]> { [""] = [message] }, detail: message));

    /// <summary>JSON is UTF-8 (RFC 8259 §8.1); another charset would be read as garbage.</summary>
    private static bool IsUtf8(string contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var type)
        && (type.Charset.Length == 0 || type.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase)
            || type.Charset.Equals("utf8", StringComparison.OrdinalIgnoreCase));
}
