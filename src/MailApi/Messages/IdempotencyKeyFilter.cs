using MailApi.Http;

namespace MailApi.Messages;

/// <summary>
/// The <c>Idempotency-Key</c> header of the submit endpoints: 1-255 printable ASCII characters, else a 400 before the
/// body is looked at.
/// </summary>
public sealed class IdempotencyKeyFilter : IEndpointFilter
{
    public const string Header = "Idempotency-Key";

    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var headers = context.HttpContext.Request.Headers;
        if (headers.TryGetValue(Header, out var values) && (values.Count != 1 || !IsValid(values[0])))
        {
            return ValueTask.FromResult<object?>(ApiProblems.Validation(new Dictionary<string, string[]>
            {
                [Header] = ["The Idempotency-Key header must be given once, as 1-255 printable ASCII characters."],
            }));
        }
        return next(context);
    }

    private static bool IsValid(string? key) => key is { Length: >= 1 and <= 255 } && key.All(c => c is >= ' ' and <= '~');
}
