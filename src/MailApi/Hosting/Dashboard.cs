using System.Net;
using Hangfire;
using MailApi.Auth;

namespace MailApi.Hosting;

/// <summary>
/// The Hangfire dashboard at <c>/hangfire</c>. In Development it is on and answers local connections only; elsewhere it
/// is off unless <c>Dashboard:Enabled</c>, and then needs an API key configured with <c>Dashboard: true</c>. Its POST
/// actions (enqueue, delete) need the antiforgery token of a dashboard page, so another site cannot make a browser
/// send them.
/// </summary>
public static class Dashboard
{
    public const string Path = "/hangfire";

    /// <summary>
    /// Headers a proxy adds. No forwarding middleware is installed, so the connection's own address is the only one
    /// believed; a request carrying one of these came through a proxy and is not local, whatever the connection says
    /// (behind a proxy on the same host every caller would look local).
    /// </summary>
    private static readonly string[] ForwardingHeaders = ["Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-IP"];

    public static WebApplicationBuilder AddDashboard(this WebApplicationBuilder builder)
    {
        // Hangfire's dashboard checks the antiforgery token of every POST once IAntiforgery is registered, and renders
        // it into its pages. SecurityHeaders sends X-Frame-Options itself.
        builder.Services.AddAntiforgery(o => o.SuppressXFrameOptionsHeader = true);
        return builder;
    }

    public static WebApplication MapDashboard(this WebApplication app)
    {
        var development = app.Environment.IsDevelopment();
        if (!(app.Configuration.GetValue<bool?>("Dashboard:Enabled") ?? development))
        {
            return app;
        }
        app.UseWhen(context => context.Request.Path.StartsWithSegments(Path), dashboard => dashboard.Use(async (context, next) =>
        {
            var refusal = development ? RefuseUnlessLocal(context) : RefuseUnlessKeyed(context);
            if (refusal is null)
            {
                await next(context);
                return;
            }
            context.Response.StatusCode = refusal.Value.Status;
            if (refusal.Value.Status == StatusCodes.Status401Unauthorized)
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
            }
            await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails = { Status = refusal.Value.Status, Title = "Dashboard not available", Detail = refusal.Value.Detail },
            });
        }));
        // The checks above replace Hangfire's own filter, which trusts any local connection.
        app.MapHangfireDashboard(Path, new DashboardOptions { Authorization = [] });
        return app;
    }

    private static (int Status, string Detail)? RefuseUnlessLocal(HttpContext context)
    {
        var remote = context.Connection.RemoteIpAddress;
        if (remote is not null && IPAddress.IsLoopback(remote) && !ForwardingHeaders.Any(context.Request.Headers.ContainsKey))
        {
            return null;
        }
        return (StatusCodes.Status403Forbidden,
            "In Development the dashboard answers local connections only (127.0.0.1 or ::1, not relayed by a proxy).");
    }

    private static (int Status, string Detail)? RefuseUnlessKeyed(HttpContext context)
    {
        if (context.User.HasClaim(ApiKeyAuthenticationHandler.DashboardClaim, "true"))
        {
            return null;
        }
        return context.User.Identity?.IsAuthenticated == true
            ? (StatusCodes.Status403Forbidden, $"The API key '{context.User.KeyName()}' is not configured with Dashboard: true.")
            : (StatusCodes.Status401Unauthorized,
                "The dashboard needs an API key configured with Dashboard: true, as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'.");
    }
}
