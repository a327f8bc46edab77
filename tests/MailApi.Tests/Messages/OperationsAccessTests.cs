using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using MailApi.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace MailApi.Tests.Messages;

/// <summary>
/// Who reaches the Hangfire dashboard, which API keys exist in Development, and the security headers on every answer.
/// The relay is a closed port: delivery is not under test here.
/// </summary>
/// <remarks>
/// Each test starts and stops its own host. Hangfire keeps one static log provider, the last host's logger factory:
/// stopping a host while another in this process creates a job fails that job with ObjectDisposedException. So these
/// tests run alone, after the parallel ones.
/// </remarks>
[Collection(nameof(OperationsAccessTests))]
[CollectionDefinition(nameof(OperationsAccessTests), DisableParallelization = true)]
public sealed class OperationsAccessTests
{
    private const string OpsKey = "ops-secret-key";

    /// <summary>Development without the capture relay (it would bind port 2525), plus <paramref name="settings"/>.</summary>
    private static MailApiFactory Development(Dictionary<string, string?>? settings = null)
    {
        var values = new Dictionary<string, string?>(settings ?? []) { ["DevRelay:Enabled"] = "false" };
        return new MailApiFactory(FreePort.Get(), values, "Development");
    }

    /// <summary>A request as it arrives from <paramref name="remote"/>, which a test client cannot choose.</summary>
    private static Task<HttpContext> SendFrom(MailApiFactory factory, IPAddress? remote, string method, string path,
        Dictionary<string, string>? headers = null, string? form = null) =>
        factory.Server.SendAsync(context =>
        {
            context.Connection.RemoteIpAddress = remote;
            context.Request.Method = method;
            context.Request.Path = path;
            foreach (var (name, value) in headers ?? [])
            {
                context.Request.Headers[name] = value;
            }
            if (form is not null)
            {
                context.Request.ContentType = "application/x-www-form-urlencoded";
                context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(form));
            }
        });

    private static async Task<string> BodyOf(HttpContext context) => await new StreamReader(context.Response.Body).ReadToEndAsync();

    // Item 10: the dashboard.

    [Fact]
    public async Task Dashboard_is_off_outside_development_unless_enabled()
    {
        using var factory = new MailApiFactory(FreePort.Get());

        var response = await factory.ClientFor(MailApiFactory.BetaKey).GetAsync("/hangfire");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Enabled_dashboard_outside_development_needs_a_key_marked_for_it()
    {
        using var factory = new MailApiFactory(FreePort.Get(), new Dictionary<string, string?>
        {
            ["Dashboard:Enabled"] = "true",
            ["Auth:ApiKeys:2:Name"] = "ops",
            ["Auth:ApiKeys:2:Key"] = OpsKey,
            ["Auth:ApiKeys:2:Dashboard"] = "true",
        });

        var anonymous = await factory.CreateClient().GetAsync("/hangfire");
        var unmarked = await factory.ClientFor(MailApiFactory.BetaKey).GetAsync("/hangfire");
        var marked = await factory.ClientFor(OpsKey).GetAsync("/hangfire");
        // The key opens the dashboard, not the connection: a local one without the key is still refused.
        var local = await SendFrom(factory, IPAddress.Loopback, "GET", "/hangfire");

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("application/problem+json", anonymous.Content.Headers.ContentType!.MediaType);
        Assert.Equal(HttpStatusCode.Forbidden, unmarked.StatusCode);
        Assert.Equal(HttpStatusCode.OK, marked.StatusCode);
        Assert.Contains("Hangfire", await marked.Content.ReadAsStringAsync());
        Assert.Equal(StatusCodes.Status401Unauthorized, local.Response.StatusCode);
    }

    [Fact]
    public async Task Development_dashboard_answers_local_connections_only_and_never_trusts_forwarding_headers()
    {
        using var factory = Development();

        var local = await SendFrom(factory, IPAddress.Loopback, "GET", "/hangfire");
        var forwarded = await SendFrom(factory, IPAddress.Loopback, "GET", "/hangfire", new() { ["X-Forwarded-For"] = "8.8.8.8" });
        var forwardedStandard = await SendFrom(factory, IPAddress.Loopback, "GET", "/hangfire", new() { ["Forwarded"] = "for=8.8.8.8" });
        var remote = await SendFrom(factory, IPAddress.Parse("8.8.8.8"), "GET", "/hangfire", new() { ["X-Forwarded-For"] = "127.0.0.1" });

        Assert.Equal(StatusCodes.Status200OK, local.Response.StatusCode);
        foreach (var refused in new[] { forwarded, forwardedStandard, remote })
        {
            Assert.Equal(StatusCodes.Status403Forbidden, refused.Response.StatusCode);
            Assert.Contains("local", await BodyOf(refused));
        }
    }

    [Fact]
    public async Task Dashboard_post_without_the_pages_antiforgery_token_is_refused()
    {
        using var factory = Development();

        // What another site can make a browser send: the form, without the token of a dashboard page.
        var crossSite = await SendFrom(factory, IPAddress.Loopback, "POST", "/hangfire/jobs/enqueued/delete",
            new() { ["Origin"] = "https://evil.example" }, form: "jobs[]=1");
        // What the dashboard's own page sends: its cookie and the token it rendered.
        var page = await SendFrom(factory, IPAddress.Loopback, "GET", "/hangfire");
        var html = await BodyOf(page);
        var header = Regex.Match(html, "<meta name=\"csrf-header\" content=\"([^\"]+)\">").Groups[1].Value;
        var token = WebUtility.HtmlDecode(Regex.Match(html, "<meta name=\"csrf-token\" content=\"([^\"]+)\">").Groups[1].Value);
        var cookie = string.Join("; ", page.Response.Headers.SetCookie.Select(c => c!.Split(';')[0]));
        var sameSite = await SendFrom(factory, IPAddress.Loopback, "POST", "/hangfire/jobs/enqueued/delete",
            new() { [header] = token, ["Cookie"] = cookie }, form: "jobs[]=1");

        Assert.Equal(StatusCodes.Status403Forbidden, crossSite.Response.StatusCode);
        Assert.NotEmpty(token);
        Assert.Equal(StatusCodes.Status204NoContent, sameSite.Response.StatusCode);
    }

    // Item 11: configured keys replace the Development key.

    [Fact]
    public async Task Configured_key_replaces_the_development_key_in_development()
    {
        using var factory = Development(new()
        {
            ["Auth:ApiKeys:0:Name"] = "ops",
            ["Auth:ApiKeys:0:KeySha256"] = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(OpsKey))),
            ["Auth:ApiKeys:0:AllowedSenders:0"] = "@domain.local",
        });

        var dev = await factory.ClientFor("mailapi-dev-key").PostAsJsonAsync("/v1/messages", Bodies.Valid());
        var ops = await factory.ClientFor(OpsKey).PostAsJsonAsync("/v1/messages", Bodies.Valid());

        Assert.Equal(HttpStatusCode.Unauthorized, dev.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, ops.StatusCode);
    }

    [Fact]
    public async Task Configured_key_without_allowed_senders_does_not_inherit_the_development_wildcard()
    {
        using var factory = Development(new() { ["Auth:ApiKeys:0:Name"] = "ops", ["Auth:ApiKeys:0:Key"] = OpsKey });

        var response = await factory.ClientFor(OpsKey).PostAsJsonAsync("/v1/messages", Bodies.Valid());

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    // Item 14: security headers.

    [Fact]
    public async Task Every_answer_says_nosniff_and_html_pages_refuse_framing()
    {
        using var factory = Development();
        var client = factory.CreateClient();

        var answers = new List<(string What, StringValues NoSniff, StringValues Frame, StringValues Csp)>();
        foreach (var path in new[] { "/swagger/index.html", "/swagger/v1/swagger.json", "/health/live", "/v1/messages", "/no-such-page" })
        {
            var response = await client.GetAsync(path);
            answers.Add((path, Header(response, "X-Content-Type-Options"), Header(response, "X-Frame-Options"), Header(response, "Content-Security-Policy")));
        }
        var bad = await factory.ClientFor("mailapi-dev-key").PostAsync("/v1/messages", new StringContent("{", Encoding.UTF8, "application/json"));
        answers.Add(("400", Header(bad, "X-Content-Type-Options"), Header(bad, "X-Frame-Options"), Header(bad, "Content-Security-Policy")));
        var dashboard = (await SendFrom(factory, IPAddress.Loopback, "GET", "/hangfire")).Response.Headers;
        answers.Add(("/hangfire", dashboard.XContentTypeOptions, dashboard.XFrameOptions, dashboard.ContentSecurityPolicy));

        Assert.All(answers, a => Assert.True(a.NoSniff == "nosniff", $"{a.What}: X-Content-Type-Options {a.NoSniff}"));
        Assert.All(answers, a => Assert.True(a.Frame == "DENY" && a.Csp.ToString().Contains("frame-ancestors 'none'"), $"{a.What}: {a.Frame} / {a.Csp}"));
    }

    private static StringValues Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? new StringValues(values.ToArray())
            : StringValues.Empty;
}
