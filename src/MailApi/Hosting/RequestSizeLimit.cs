using MailApi.Messages;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace MailApi.Hosting;

/// <summary>Limits:MaxRequestBytes for every request: a 413 problem before the body is read when its length is known,
/// and the server's own limit for bodies sent without a length.</summary>
public static class RequestSizeLimit
{
    public static WebApplication UseRequestSizeLimit(this WebApplication app)
    {
        var limit = app.Services.GetRequiredService<IOptions<LimitsOptions>>().Value.MaxRequestBytes;
        app.Use(async (context, next) =>
        {
            if (context.Request.ContentLength > limit)
            {
                context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
                await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context,
                    ProblemDetails =
                    {
                        Status = StatusCodes.Status413PayloadTooLarge,
                        Title = "Request too large",
                        Detail = $"The request body is {context.Request.ContentLength} bytes; Limits:MaxRequestBytes allows {limit}.",
                    },
                });
                return;
            }
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
            {
                feature.MaxRequestBodySize = limit;
            }
            await next(context);
        });
        return app;
    }
}
