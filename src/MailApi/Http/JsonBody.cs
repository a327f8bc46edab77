using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using JsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace MailApi.Http;

/// <summary>
/// A request body read as JSON here rather than by the framework's binder. The binder answers a value of the wrong
/// type, a duplicate key or a null body with a bare 400 in Production and throws in Development (a 500 with a stack
/// trace); the API answers a problem whose <c>errors</c> name the JSON path, in every environment (docs/API.md,
/// "Reading the body").
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
        byte[]? body = null;
        try
        {
            int length;
            (body, length) = await ReadAllAsync(request.BodyReader, request.ContentLength, context.RequestAborted);
            return Parse(body.AsMemory(0, length), options);
        }
        catch (BadHttpRequestException e)
        {
            // Kestrel's own answers while reading: the body outgrew Limits:MaxRequestBytes (413), or ended early.
            return new(null, TypedResults.Problem(statusCode: e.StatusCode,
                title: e.StatusCode == StatusCodes.Status413PayloadTooLarge ? "Request too large" : "The request body could not be read",
                detail: e.StatusCode == StatusCodes.Status413PayloadTooLarge ? "The request body is larger than Limits:MaxRequestBytes allows." : e.Message));
        }
        finally
        {
            if (body is not null)
            {
                ArrayPool<byte>.Shared.Return(body);
            }
        }
    }

    /// <summary>
    /// The whole body in one pooled block: it is parsed once from memory, and walked again only when it is refused, to
    /// list every failing field (<see cref="JsonErrors"/>). Each read is consumed at once, so no transport buffer limit
    /// holds the body back; Limits:MaxRequestBytes applies while reading.
    /// </summary>
    private static async ValueTask<(byte[] Buffer, int Length)> ReadAllAsync(PipeReader reader, long? length, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(length is > 0 and < 64 * 1024 * 1024 ? (int)length : 16 * 1024);
        var written = 0;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken);
                foreach (var segment in result.Buffer)
                {
                    if (segment.Length > buffer.Length - written)
                    {
                        buffer = Grow(buffer, written, segment.Length);
                    }
                    segment.Span.CopyTo(buffer.AsSpan(written));
                    written += segment.Length;
                }
                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    return (buffer, written);
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private static byte[] Grow(byte[] buffer, int written, int more)
    {
        var needed = (long)written + more;
        if (needed > Array.MaxLength)
        {
            // Only a Limits:MaxRequestBytes above 2 GB lets a body get here; one array cannot hold it.
            throw new BadHttpRequestException("The body is larger than a JSON body can be.", StatusCodes.Status413PayloadTooLarge);
        }
        var grown = ArrayPool<byte>.Shared.Rent((int)Math.Min(Array.MaxLength, Math.Max(needed, 2L * buffer.Length)));
        buffer.AsSpan(0, written).CopyTo(grown);
        ArrayPool<byte>.Shared.Return(buffer);
        return grown;
    }

    private static JsonBody<T> Parse(ReadOnlyMemory<byte> json, JsonSerializerOptions options)
    {
        if (json.IsEmpty)
        {
            return Invalid("The body is empty; it must be a JSON object.");
        }
        try
        {
            var value = JsonSerializer.Deserialize<T>(json.Span, options);
            return value is null ? Invalid("The body is null; it must be a JSON object.") : new(value, null);
        }
        catch (JsonException e)
        {
            var errors = JsonErrors.For(e, json, typeof(T), options);
            var detail = errors.Count == 1 ? errors.Values.Single()[0]
                : errors.Count >= JsonShape.MaxErrors ? $"At least {JsonShape.MaxErrors} fields are of the wrong type or unknown; the first {JsonShape.MaxErrors} are listed."
                : null;
            return new(null, ApiProblems.Validation(errors, detail: detail));
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
