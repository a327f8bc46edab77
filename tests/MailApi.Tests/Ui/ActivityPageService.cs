using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace MailApi.Tests.Ui;

/// <summary>
/// The browser, and the service with the page on, on a real port, delivering to a relay of its own; and what every
/// walk-through of the activity page does with them (an API client for a key, a message sent, signing in).
/// </summary>
internal sealed class ActivityPageService : IAsyncDisposable
{
    /// <summary>How long a walk-through waits for a message or an entry to reach a state.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private MailApiFactory? _factory;

    public required Chromium Chromium { get; init; }
    public required TestSmtpServer Relay { get; init; }
    public string Address { get; private set; } = "";

    /// <summary>
    /// Starts all three, the service storing in memory or (<paramref name="storage"/> <c>PostgreSql</c>) in a database of
    /// its own; skips the test when Chromium (naming <paramref name="walkThrough"/>) or PostgreSQL is missing.
    /// </summary>
    public static async Task<ActivityPageService> StartAsync(Dictionary<string, string?>? settings = null, TestSmtpServerOptions? relay = null,
        string storage = "InMemory", string walkThrough = "the activity page walk-through")
    {
        var all = new Dictionary<string, string?>(settings ?? []) { ["Ui:Enabled"] = "true" };
        if (storage == "PostgreSql")
        {
            all["Storage:Provider"] = "PostgreSql";
            all["Storage:ConnectionString"] = await Postgres.CreateDatabaseAsync();
        }
        var chromium = await Chromium.LaunchAsync(walkThrough);
        var service = new ActivityPageService { Chromium = chromium, Relay = await TestSmtpServer.StartAsync(relay) };
        try
        {
            service._factory = new MailApiFactory(service.Relay.Port, all);
            service.Address = Chromium.Serve(service._factory);
            return service;
        }
        catch
        {
            await service.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }
        await Relay.DisposeAsync();
        await Chromium.DisposeAsync();
    }

    public static HttpClient ApiClient(string address, string key)
    {
        var client = new HttpClient { BaseAddress = new Uri(address) };
        client.DefaultRequestHeaders.Add("X-Api-Key", key);
        return client;
    }

    /// <summary>Signs in with <paramref name="key"/> and waits for the view the address names (its heading).</summary>
    public static async Task SignInAsync(IPage page, string key, string landsOn = "Messages")
    {
        await page.GetByLabel("API key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = landsOn })).ToBeVisibleAsync();
    }
}
