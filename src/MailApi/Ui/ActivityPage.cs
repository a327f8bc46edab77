using MailApi.Hosting;
using Microsoft.Extensions.FileProviders;

namespace MailApi.Ui;

/// <summary>
/// The activity page at <c>/ui</c>: static HTML, CSS and JavaScript modules embedded in the assembly (so <c>dotnet
/// publish</c> and the Docker image carry them with nothing to build), calling the same <c>/v1</c> API with the key the
/// person signs in with. On in Development, elsewhere off unless <c>Ui:Enabled</c>. The files are public (they hold no
/// data); every message the page shows comes from the API, scoped to the key.
/// </summary>
public static class ActivityPage
{
    public const string Path = "/ui";
    public const string EnabledKey = "Ui:Enabled";

    /// <summary>
    /// The page's own scripts, styles and API calls only: no inline script or style, no other origin, no framing.
    /// Anything the API returns is put into the page as text, and this policy is the second line behind that.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /// <summary>Where the files are embedded (<c>Ui/wwwroot/*</c> under the root namespace).</summary>
    private const string ResourceNamespace = "MailApi.Ui.wwwroot";

    public static bool IsEnabled(IConfiguration configuration, IHostEnvironment environment) =>
        configuration.GetValue<bool?>(EnabledKey) ?? environment.IsDevelopment();

    public static WebApplication MapActivityPage(this WebApplication app)
    {
        if (!IsEnabled(app.Configuration, app.Environment))
        {
            return app;
        }
        var files = new EmbeddedFileProvider(typeof(ActivityPage).Assembly, ResourceNamespace);
        app.UseWhen(context => context.Request.Path.StartsWithSegments(Path), page =>
        {
            page.Use((context, next) =>
            {
                SecurityHeaders.UsePolicy(context, ContentSecurityPolicy);
                return next(context);
            });
            // "/ui" is redirected to "/ui/", so the page's relative links resolve under it.
            page.UseDefaultFiles(new DefaultFilesOptions { RequestPath = Path, FileProvider = files });
            page.UseStaticFiles(new StaticFileOptions
            {
                RequestPath = Path,
                FileProvider = files,
                // Revalidated on every load (the ETag answers 304), so a new version of the service is never mixed with old scripts.
                OnPrepareResponse = file => file.Context.Response.Headers.CacheControl = "no-cache",
            });
        });
        return app;
    }
}
