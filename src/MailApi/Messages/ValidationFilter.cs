using FluentValidation;

namespace MailApi.Messages;

/// <summary>Validates the <typeparamref name="T"/> argument of an endpoint before its handler runs.</summary>
public sealed class ValidationFilter<T>(IValidator<T> validator) : IEndpointFilter where T : class
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var argument = FirstOfType(context.Arguments);
        if (argument is null)
        {
            return ApiProblems.Validation(new Dictionary<string, string[]> { [""] = ["A JSON object is required as the request body."] });
        }
        var result = await validator.ValidateAsync(argument, context.HttpContext.RequestAborted);
        if (!result.IsValid)
        {
            return ApiProblems.Validation(result.ToDictionary());
        }
        return await next(context);
    }

    /// <summary>The first <typeparamref name="T"/> among the arguments, without a LINQ iterator per request.</summary>
    private static T? FirstOfType(IList<object?> arguments)
    {
        for (var i = 0; i < arguments.Count; i++)
        {
            if (arguments[i] is T argument)
            {
                return argument;
            }
        }
        return null;
    }
}
