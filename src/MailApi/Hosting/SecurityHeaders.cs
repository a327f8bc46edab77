namespace MailApi.Hosting;

/// <summary>
/// Headers on every answer, errors included: no content sniffing (a JSON answer is never run as a script or page),
/// and no framing of any page (Swagger UI's "Authorize" and the dashboard's buttons cannot be clickjacked).
/// </summary>
public static class SecurityHeaders
{
    public static WebApplication UseSecurityHeaders(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            // Set when the answer starts: the exception handler clears headers set earlier, but not this callback.
            context.Response.OnStarting(static state =>
            {
                var headers = ((HttpResponse)state).Headers;
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                headers.ContentSecurityPolicy = "frame-ancestors 'none'";
                return Task.CompletedTask;
            }, context.Response);
            return next(context);
        });
        return app;
    }
}
