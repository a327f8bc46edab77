using FluentValidation;

namespace MailApi.Messages;

/// <summary>Validates the <typeparamref name="T"/> argument of an endpoint before its handler runs.</summary>
public sealed class ValidationFilter<T>(IValidator<T> validator) : IEndpointFilter where T : class
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var argument = context.Arguments.OfType<T>().FirstOrDefault();
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
}
