using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace MailApi.Tests.Infrastructure;

/// <summary>
/// Debian's Chromium driven by Playwright (nothing downloaded), for the walk-throughs of category <see cref="Category"/>:
/// skips a test with the way to get it when it is missing, and leaves a screenshot in <c>MAILAPI_CI_OUT</c> (else the
/// repository's <c>.ci/out</c>) when a walk-through fails.
/// </summary>
public sealed class Chromium : IAsyncDisposable
{
    public const string Category = "Browser";
    public const string Path = "/usr/bin/chromium";

    private readonly IPlaywright _playwright;

    private Chromium(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Browser = browser;
    }

    public IBrowser Browser { get; }

    /// <summary>Starts the browser, or skips the test saying how to install it.</summary>
    public static async Task<Chromium> LaunchAsync(string walkThrough)
    {
        Assert.SkipUnless(File.Exists(Path),
            $"No Chromium at {Path}: install it with `apt-get install -y chromium` (as root; .ci/run does) to run {walkThrough}.");
        // Assertions (Expect) wait 5 s by default, actions 30 s (NewPageAsync): on a loaded machine the page's API calls
        // can take longer than 5 s, so assertions wait as long as actions do. Still a wait for a state, never a pause.
        Assertions.SetDefaultExpectTimeout(30_000);
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Path,
            Headless = true,
            // Root in CI has no user namespace sandbox; the rest keeps Chromium from calling home or updating itself.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"],
        });
        return new Chromium(playwright, browser);
    }

    /// <summary>A page in a context of its own (its own session storage), waiting up to 30 s for anything it is asked.</summary>
    public async Task<IPage> NewPageAsync(BrowserNewContextOptions? options = null)
    {
        var context = await Browser.NewContextAsync(options);
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(30_000);
        return page;
    }

    /// <summary>Runs <paramref name="walkThrough"/>; when it fails, saves what the page showed as <c>{name}-{time}.png</c>.</summary>
    public static async Task RunAsync(IPage page, string name, Func<Task> walkThrough)
    {
        try
        {
            await walkThrough();
        }
        catch
        {
            var file = System.IO.Path.Combine(ScreenshotFolder(), $"{name}-{DateTime.UtcNow:yyyyMMdd-HHmmss}.png");
            await page.ScreenshotAsync(new() { Path = file, FullPage = true });
            Console.Error.WriteLine($"Walk-through {name} failed; screenshot: {file}");
            throw;
        }
    }

    /// <summary>Starts <paramref name="factory"/> on a real loopback port (a browser needs one) and returns its address.</summary>
    public static string Serve(MailApiFactory factory)
    {
        factory.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        factory.StartServer();
        return factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    }

    /// <summary>The repository's root (where MailApi.sln is), found from the test binaries upwards.</summary>
    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "MailApi.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? System.IO.Path.GetTempPath();
    }

    private static string ScreenshotFolder()
    {
        var folder = Environment.GetEnvironmentVariable("MAILAPI_CI_OUT");
        if (string.IsNullOrEmpty(folder))
        {
            folder = System.IO.Path.Combine(RepositoryRoot(), ".ci", "out");
        }
        Directory.CreateDirectory(folder);
        return folder;
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
    }
}
