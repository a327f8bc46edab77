using FluentValidation;

namespace MailApi.Messages;

/// <summary>
/// The one place input is refused before a handler runs: for a <see cref="JsonBody{T}"/> argument the problem of a body
/// that is not a <typeparamref name="T"/>, and for it or a plain <typeparamref name="T"/> argument (a query) every rule
/// the validator finds broken, keyed by JSON path. Handlers see valid input only.
/// </summary>
public sealed class ValidationFilter<T>(IValidator<T> validator) : IEndpointFilter where T : class
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var (value, problem) = Argument(context.Arguments)
            ?? throw new InvalidOperationException($"{context.HttpContext.GetEndpoint()} has no {typeof(T).Name} parameter.");
        if (problem is not null)
        {
            return problem;
        }
        var result = await validator.ValidateAsync(value!, context.HttpContext.RequestAborted);
        if (!result.IsValid)
        {
            return ApiProblems.Validation(result.ByJsonPath());
        }
        return await next(context);
    }

    /// <summary>The first <typeparamref name="T"/> among the arguments, as is or in a body, without a LINQ iterator per request.</summary>
    private static (T? Value, object? Problem)? Argument(IList<object?> arguments)
    {
        for (var i = 0; i < arguments.Count; i++)
        {
            switch (arguments[i])
            {
                case JsonBody<T> body:
                    return (body.Value, body.Problem);
                case T value:
                    return (value, null);
            }
        }
        return null;
    }
}

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
