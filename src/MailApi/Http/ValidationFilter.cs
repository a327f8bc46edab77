using FluentValidation;

namespace MailApi.Http;

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
