using System.Net;
using MailApi.Tests.Infrastructure;
using MailApi.Ui;

namespace MailApi.Tests.Ui;

/// <summary>Where the activity page is served: off outside Development unless <c>Ui:Enabled</c>, and under a strict CSP.</summary>
public sealed class ActivityPageHostingTests
{
    [Fact]
    public async Task Outside_development_the_page_is_off_unless_enabled()
    {
        await using var off = new MailApiFactory(smtpPort: 1);
        Assert.Equal(HttpStatusCode.NotFound, (await off.CreateClient().GetAsync("/ui/")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await off.CreateClient().GetAsync("/ui/app.js")).StatusCode);

        await using var on = new MailApiFactory(smtpPort: 1, new Dictionary<string, string?> { ["Ui:Enabled"] = "true" });
        var page = await on.CreateClient().GetAsync("/ui/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<script type=\"module\" src=\"app.js\"></script>", await page.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task In_development_the_page_is_on_unless_disabled()
    {
        var relayPort = FreePort.Get().ToString();
        var folder = Directory.CreateTempSubdirectory("mailapi-ui-").FullName;
        try
        {
            var development = new Dictionary<string, string?> { ["DevRelay:Port"] = relayPort, ["DevRelay:Folder"] = folder };
            await using (var on = new MailApiFactory(smtpPort: 1, development, environment: "Development"))
            {
                Assert.Equal(HttpStatusCode.OK, (await on.CreateClient().GetAsync("/ui/")).StatusCode);
            }
            development["Ui:Enabled"] = "false";
            await using var off = new MailApiFactory(smtpPort: 1, development, environment: "Development");
            Assert.Equal(HttpStatusCode.NotFound, (await off.CreateClient().GetAsync("/ui/")).StatusCode);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData("/ui/", "text/html")]
    [InlineData("/ui/app.js", "text/javascript")]
    [InlineData("/ui/ui.css", "text/css")]
    public async Task The_files_run_only_the_pages_own_scripts_and_cannot_be_framed(string path, string type)
    {
        await using var factory = new MailApiFactory(smtpPort: 1, new Dictionary<string, string?> { ["Ui:Enabled"] = "true" });
        var response = await factory.CreateClient().GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(type, response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(ActivityPage.ContentSecurityPolicy, response.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Contains("script-src 'self'", ActivityPage.ContentSecurityPolicy);
        Assert.DoesNotContain("unsafe-inline", ActivityPage.ContentSecurityPolicy);
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
    }

    [Fact]
    public async Task The_api_keeps_its_own_policy()
    {
        await using var factory = new MailApiFactory(smtpPort: 1, new Dictionary<string, string?> { ["Ui:Enabled"] = "true" });
        var response = await factory.CreateClient().GetAsync("/v1/messages");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("frame-ancestors 'none'", response.Headers.GetValues("Content-Security-Policy").Single());
    }
}
