namespace MailApi.Hosting;

/// <summary>
/// Headers on every answer, errors included: no content sniffing (a JSON answer is never run as a script or page),
/// and no framing of any page (Swagger UI's "Authorize" and the dashboard's buttons cannot be clickjacked). A page of
/// the service's own may ask for a stricter Content-Security-Policy with <see cref="UsePolicy"/>.
/// </summary>
public static class SecurityHeaders
{
    private const string DefaultPolicy = "frame-ancestors 'none'";
    private static readonly object PolicyItem = new();

    /// <summary>Sends <paramref name="policy"/> as this answer's Content-Security-Policy; it must forbid framing too.</summary>
    public static void UsePolicy(HttpContext context, string policy) => context.Items[PolicyItem] = policy;

    public static WebApplication UseSecurityHeaders(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            // Set when the answer starts: the exception handler clears headers set earlier, but not this callback.
            context.Response.OnStarting(static state =>
            {
                var context = (HttpContext)state;
                var headers = context.Response.Headers;
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                headers.ContentSecurityPolicy = context.Items[PolicyItem] as string ?? DefaultPolicy;
                return Task.CompletedTask;
            }, context);
            return next(context);
        });
        return app;
    }
}
