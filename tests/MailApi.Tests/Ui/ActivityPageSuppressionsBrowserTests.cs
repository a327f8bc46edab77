using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;
using Microsoft.Playwright;
using static MailApi.Tests.Ui.ActivityPageService;
using static Microsoft.Playwright.Assertions;

namespace MailApi.Tests.Ui;

/// <summary>
/// The suppression list in the activity page, in Debian's Chromium, against the service on a real port and a real SMTP
/// relay: an address the relay refuses with <c>550 5.1.1</c> is listed, the next message shows it <c>suppressed</c>
/// with its reason, and the Suppressions view lists it (with the message that put it there), filters, pages, and
/// removes it only after asking. In memory and on PostgreSQL.
/// </summary>
[Trait("Category", Chromium.Category)]
public sealed class ActivityPageSuppressionsBrowserTests
{
    private const string Gone = "gone@domain.local";
    private const string Imported = "old@elsewhere.test";

    [Theory]
    [InlineData("InMemory")]
    [InlineData("PostgreSql")]
    public async Task A_refused_address_is_shown_suppressed_listed_filtered_and_removed_after_asking(string storage)
    {
        await using var service = await ActivityPageService.StartAsync(storage: storage, walkThrough: "the suppressions walk-through");
        var (chromium, address) = (service.Chromium, service.Address);
        service.Relay.RejectRecipient(Gone);
        using var api = ApiClient(address, MailApiFactory.AlphaKey);

        // The relay refuses the address at RCPT TO: the dialogue puts it on the list.
        var first = Bodies.Valid("keep@domain.local", Gone);
        first["subject"] = "First try";
        var firstId = await MailApiFactory.SendAsync(api, first);
        await MailApiFactory.WaitForStatusAsync(api, firstId, Patience, "partially_sent");
        var entry = await WaitForEntryAsync(api, Gone);
        Assert.Equal("rejected", (string?)entry["reason"]);
        Assert.Equal(firstId, (string?)entry["source"]!["messageId"]);
        // One more entry, of another reason and domain, for the filters.
        var put = await api.PutAsJsonAsync($"/v1/suppressions/{Uri.EscapeDataString(Imported)}", new JsonObject { ["reason"] = "manual" });
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);

        var second = Bodies.Valid("keep@domain.local", Gone);
        second["subject"] = "Second try";
        var secondId = await MailApiFactory.SendAsync(api, second);
        await MailApiFactory.WaitForStatusAsync(api, secondId, Patience, "partially_sent");

        var page = await chromium.NewPageAsync(new() { TimezoneId = "UTC", ViewportSize = new() { Width = 1280, Height = 900 } });
        await Chromium.RunAsync(page, $"suppressions-page-{storage}", async () =>
        {
            await page.GotoAsync(address + "/ui/");
            await SignInAsync(page, MailApiFactory.AlphaKey);

            // The second message: the suppressed recipient with its reason and since when, where the others show their reply.
            await page.GetByRole(AriaRole.Link, new() { Name = "Second try", Exact = true }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Second try");
            var recipients = page.Locator("#recipients tbody tr");
            await Expect(recipients.Filter(new() { HasText = "keep@domain.local" })).ToContainTextAsync("250");
            var suppressed = recipients.Filter(new() { HasText = Gone });
            await Expect(suppressed.Locator("[data-status]")).ToHaveTextAsync("suppressed");
            await Expect(suppressed).ToContainTextAsync("Not offered: on the suppression list as rejected since");
            var since = await suppressed.Locator(".suppression time").GetAttributeAsync("datetime");
            Assert.Equal(DateTimeOffset.Parse((string)entry["createdAt"]!), DateTimeOffset.Parse(since!));
            // The relay never heard of it: the only dialogue offers the other recipient alone.
            await Expect(page.Locator(".dialogue")).ToHaveCountAsync(1);
            await Expect(page.Locator(".dialogue")).Not.ToContainTextAsync(Gone);

            // The Suppressions view, from the navigation: both entries, the rejected one with its source message.
            await page.GetByRole(AriaRole.Link, new() { Name = "Suppressions", Exact = true }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Suppressions", Level = 1 })).ToBeFocusedAsync();
            var rows = page.Locator("#suppressions tbody tr[data-address]");
            await Expect(rows).ToHaveCountAsync(2);
            var gone = rows.Filter(new() { HasText = Gone });
            await Expect(gone.Locator("td[data-label='Reason']")).ToHaveTextAsync("rejected");
            await Expect(gone.Locator("td[data-label='Expires']")).ToHaveTextAsync("never");
            await Expect(gone.Locator("td[data-label='Diagnostic']")).ToContainTextAsync("5.1.1");
            await Expect(gone.Locator("td[data-label='Diagnostic']")).ToContainTextAsync("User unknown");
            await Expect(rows.Filter(new() { HasText = Imported }).Locator("td[data-label='Source']")).ToHaveTextAsync("—");

            await page.GetByLabel("Reason").SelectOptionAsync("manual");
            await page.GetByRole(AriaRole.Button, new() { Name = "Apply filters" }).ClickAsync();
            await Expect(rows).ToHaveCountAsync(1);
            await Expect(rows.First).ToContainTextAsync(Imported);
            Assert.Contains("reason=manual", page.Url);
            await page.GetByRole(AriaRole.Button, new() { Name = "Clear" }).ClickAsync();
            await Expect(rows).ToHaveCountAsync(2);
            await page.GetByLabel("Address or domain").FillAsync("@domain.local");
            await page.GetByLabel("Address or domain").PressAsync("Enter");
            await Expect(rows).ToHaveCountAsync(1);
            await Expect(rows.First).ToContainTextAsync(Gone);
            // What the API refuses is said as the page says every problem.
            await page.GetByLabel("Address or domain").FillAsync("nobody");
            await page.GetByRole(AriaRole.Button, new() { Name = "Apply filters" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("The suppressions could not be read");
            await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("'address' must be an address");
            await page.GetByRole(AriaRole.Button, new() { Name = "Clear" }).ClickAsync();
            await Expect(rows).ToHaveCountAsync(2);
            await Expect(page.GetByRole(AriaRole.Alert)).ToBeHiddenAsync();

            // The source message is one click away, and its page leads back to the list.
            await gone.GetByRole(AriaRole.Link, new() { Name = firstId }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("First try");
            await page.GetByRole(AriaRole.Link, new() { Name = "Back to suppressions" }).ClickAsync();
            await Expect(rows).ToHaveCountAsync(2);

            // Remove asks first and says what it does; "No" keeps the entry.
            var remove = page.GetByRole(AriaRole.Button, new() { Name = $"Remove {Gone}" });
            await remove.ClickAsync();
            await Expect(page.Locator("#remove-question")).ToHaveTextAsync(
                $"Remove {Gone} from the suppression list? Messages to it will be offered to the relay again: the address will be mailed again.");
            var yes = page.GetByRole(AriaRole.Button, new() { Name = "Yes, remove it" });
            await Expect(yes).ToBeFocusedAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "No, keep it" }).ClickAsync();
            await Expect(page.Locator("#remove-question")).ToHaveCountAsync(0);
            await Expect(remove).ToBeFocusedAsync();
            Assert.Equal(HttpStatusCode.OK, (await api.GetAsync($"/v1/suppressions/{Gone}")).StatusCode);

            await remove.ClickAsync();
            await yes.ClickAsync();
            await Expect(page.Locator("#suppressions-done")).ToHaveTextAsync($"{Gone} was removed from the suppression list: it will be mailed again.");
            await Expect(rows).ToHaveCountAsync(1);
            await Expect(rows.First).ToContainTextAsync(Imported);
            Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/v1/suppressions/{Gone}")).StatusCode);
        });
    }

    [Fact]
    public async Task The_suppressions_page_fifty_at_a_time_and_fit_a_phone()
    {
        await using var service = await ActivityPageService.StartAsync(walkThrough: "the suppressions walk-through");
        var (chromium, address) = (service.Chromium, service.Address);
        using var api = ApiClient(address, MailApiFactory.AlphaKey);
        for (var i = 0; i < 55; i++)
        {
            var put = await api.PutAsJsonAsync($"/v1/suppressions/number{i:00}@many.test", new JsonObject());
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        var page = await chromium.NewPageAsync(new() { ViewportSize = new() { Width = 390, Height = 844 }, IsMobile = true, HasTouch = true });
        var lists = new List<string>();
        page.Request += (_, request) =>
        {
            if (new Uri(request.Url).AbsolutePath == "/v1/suppressions")
            {
                lists.Add(new Uri(request.Url).Query);
            }
        };
        await Chromium.RunAsync(page, "suppressions-page-paging", async () =>
        {
            await page.GotoAsync(address + "/ui/#/suppressions");
            await SignInAsync(page, MailApiFactory.AlphaKey, landsOn: "Suppressions");
            var rows = page.Locator("#suppressions tbody tr[data-address]");
            await Expect(rows).ToHaveCountAsync(50);
            await Expect(page.Locator("#suppressions-caption")).ToHaveTextAsync("50 suppressed addresses, newest first");
            await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Newer" })).ToBeDisabledAsync();
            var newest = await rows.Locator("th").AllTextContentsAsync();

            // (Entries made in one millisecond have no order among them: the pages are checked as sets.)
            await page.GetByRole(AriaRole.Button, new() { Name = "Older" }).ClickAsync();
            await Expect(rows).ToHaveCountAsync(5);
            await Expect(page.Locator("#suppressions-caption")).ToHaveTextAsync("5 suppressed addresses, older entries");
            await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Older" })).ToBeDisabledAsync();
            var older = await rows.Locator("th").AllTextContentsAsync();
            Assert.Equal(Enumerable.Range(0, 55).Select(i => $"number{i:00}@many.test").Order(), newest.Concat(older).Order());
            await page.GetByRole(AriaRole.Button, new() { Name = "Newer" }).ClickAsync();
            await Expect(rows).ToHaveCountAsync(50);
            await Expect(rows.First).ToHaveAttributeAsync("data-address", newest[0]);
            // On a phone each entry is a card with labelled cells, and nothing is wider than the screen.
            Assert.True(await page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"),
                "the suppressions page scrolls sideways on a 390 px screen");
            await Expect(page.Locator("#suppressions thead")).Not.ToBeInViewportAsync();
            Assert.All(lists, query => Assert.Contains("limit=50", query));
            Assert.Contains(lists, query => query.Contains("cursor=", StringComparison.Ordinal));
        });
    }

    /// <summary>Asks the API for the address's entry until it is there (the dialogue writes it as it ends).</summary>
    private static async Task<JsonObject> WaitForEntryAsync(HttpClient api, string address)
    {
        HttpResponseMessage? last = null;
        await Poll.UntilAsync(async () => (last = await api.GetAsync($"/v1/suppressions/{Uri.EscapeDataString(address)}")).IsSuccessStatusCode,
            Patience, () => $"{address} on the suppression list; last answer {(int?)last?.StatusCode}");
        return (await last!.Content.ReadFromJsonAsync<JsonObject>())!;
    }
}
