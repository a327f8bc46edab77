using FluentValidation;

namespace MailApi.Messages;

/// <summary>
/// Answers for the <see cref="JsonBody{T}"/> argument of an endpoint before its handler runs: the problem of a body
/// that is not a <typeparamref name="T"/>, else every rule the validator finds broken.
/// </summary>
public sealed class ValidationFilter<T>(IValidator<T> validator) : IEndpointFilter where T : class
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var body = FirstBody(context.Arguments)
            ?? throw new InvalidOperationException($"{context.HttpContext.GetEndpoint()} has no JsonBody<{typeof(T).Name}> parameter.");
        if (body.Problem is not null)
        {
            return body.Problem;
        }
        var result = await validator.ValidateAsync(body.Value!, context.HttpContext.RequestAborted);
        if (!result.IsValid)
        {
            return ApiProblems.Validation(result.ToDictionary());
        }
        return await next(context);
    }

    /// <summary>The first <see cref="JsonBody{T}"/> among the arguments, without a LINQ iterator per request.</summary>
    private static JsonBody<T>? FirstBody(IList<object?> arguments)
    {
        for (var i = 0; i < arguments.Count; i++)
        {
            if (arguments[i] is JsonBody<T> body)
            {
                return body;
            }
        }
        return null;
    }
}
