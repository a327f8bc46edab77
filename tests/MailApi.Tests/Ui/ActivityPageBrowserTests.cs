using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MailApi.Tests.Infrastructure;
using Microsoft.Playwright;
using static MailApi.Tests.Ui.ActivityPageService;
using static Microsoft.Playwright.Assertions;

namespace MailApi.Tests.Ui;

/// <summary>
/// The activity page (<c>/ui</c>) in Debian's Chromium, as a person uses it, against the service on a real port that
/// delivers to a real SMTP relay (in-process, with AUTH): sign in, see a message sent through the API appear and turn
/// <c>sent</c>, open it and read the dialogue line by line, filter, cancel a scheduled one; a wrong key is told so;
/// another key's messages never show. The walk-through runs in memory and on PostgreSQL. A failure leaves a screenshot
/// in <c>.ci/out</c>; <c>MAILAPI_UI_SCREENSHOT=path.png</c> saves the message page (the README's picture).
/// </summary>
[Trait("Category", Chromium.Category)]
public sealed class ActivityPageBrowserTests
{
    private const string RelayUser = "mailer";
    private const string RelayPassword = "relay-secret-9f2c";

    [Theory]
    [InlineData("InMemory")]
    [InlineData("PostgreSql")]
    public async Task A_person_signs_in_reads_a_dialogue_filters_and_cancels(string storage)
    {
        var settings = new Dictionary<string, string?>
        {
            // AUTH needs TLS unless Security is None; the relay offers no TLS, so the password goes in the clear here.
            ["Smtp:Security"] = "None",
            ["Smtp:Username"] = RelayUser,
            ["Smtp:Password"] = RelayPassword,
            ["Webhooks:AllowHttp"] = "true",
            ["Webhooks:AllowPrivateTargets"] = "true",
        };
        await using var service = await ActivityPageService.StartAsync(settings, new() { User = RelayUser, Password = RelayPassword }, storage);
        var (chromium, address) = (service.Chromium, service.Address);
        service.Relay.RejectRecipient("nobody@domain.local");
        using var api = ApiClient(address, MailApiFactory.AlphaKey);
        using var receiver = new WebhookReceiver();
        receiver.Server.Given(WireMock.RequestBuilders.Request.Create().WithPath("/hook").UsingPost())
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(200));
        var hook = await api.PostAsJsonAsync("/v1/webhooks", new JsonObject { ["url"] = receiver.Url() });
        Assert.Equal(HttpStatusCode.Created, hook.StatusCode);

        var page = await chromium.NewPageAsync(new() { TimezoneId = "UTC", ViewportSize = new() { Width = 1280, Height = 900 } });
        await Chromium.RunAsync(page, $"activity-page-{storage}", async () =>
        {
            await page.GotoAsync(address + "/ui");
            await SignInAsync(page, MailApiFactory.AlphaKey);
            await Expect(page.GetByText("No messages yet")).ToBeVisibleAsync();

            // Sent through the API while the page is open: it appears by itself and turns final by itself.
            var body = Bodies.Valid("board@domain.local", "nobody@domain.local");
            body["subject"] = "Board minutes";
            body["tags"] = new JsonArray("board");
            var id = await MailApiFactory.SendAsync(api, body);
            var row = Row(page, "Board minutes");
            await Expect(row).ToBeVisibleAsync();
            await Expect(row.Locator("[data-status]")).ToHaveTextAsync("partially sent");
            var message = await MailApiFactory.WaitForStatusAsync(api, id, Patience, "partially_sent");
            var queueId = (string)message["queueId"]!;
            await Expect(row.Locator("td.queue-id")).ToHaveTextAsync(queueId);
            await Expect(row).ToContainTextAsync("zotrim@domain.local");
            await Expect(row).ToContainTextAsync("board@domain.local, nobody@domain.local");

            await page.GetByRole(AriaRole.Link, new() { Name = "Board minutes" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Board minutes");
            await Expect(page.Locator("#queue-id")).ToHaveTextAsync(queueId);
            var recipients = page.Locator("#recipients tbody tr");
            await Expect(recipients.Filter(new() { HasText = "board@domain.local" })).ToContainTextAsync("250");
            var rejected = recipients.Filter(new() { HasText = "nobody@domain.local" });
            await Expect(rejected).ToContainTextAsync("550 5.1.1");
            await Expect(rejected.Locator(".reply")).ToHaveClassAsync(new Regex("code-5xx"));

            var turns = await Turns(page);
            Assert.Equal("S", turns[0].Who);
            Assert.StartsWith("220 ", turns[0].Line);
            var ehlo = Reply(turns, "EHLO mailapi.test");
            var ehloLines = ehlo.Line.Split('\n');
            Assert.True(ehloLines.Length > 1, $"the EHLO reply is multi-line: {ehlo.Line}");
            Assert.All(ehloLines[..^1], l => Assert.StartsWith("250-", l));
            Assert.StartsWith("250 ", ehloLines[^1]);
            // AUTH as the service stored it: the mechanism, then *** (no challenge, answer or password).
            var auth = turns.Single(t => t.Who == "C" && t.Line.StartsWith("AUTH ", StringComparison.Ordinal)).Line;
            Assert.Matches(@"^AUTH (PLAIN|LOGIN) \*\*\*$", auth);
            Assert.StartsWith("235 ", Reply(turns, auth).Line);
            Assert.StartsWith("250 ", Reply(turns, "MAIL FROM:<zotrim@domain.local>").Line);
            Assert.StartsWith("250 ", Reply(turns, "RCPT TO:<board@domain.local>").Line);
            Assert.StartsWith("550 5.1.1 ", Reply(turns, "RCPT TO:<nobody@domain.local>").Line);
            var data = Reply(turns, "DATA");
            Assert.StartsWith("354 ", data.Line);
            Assert.Equal($"250 2.0.0 Ok: queued as {queueId}", Reply(turns, ".").Line);
            var content = await page.ContentAsync();
            Assert.DoesNotContain(RelayPassword, content);
            Assert.DoesNotContain(Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"\0{RelayUser}\0{RelayPassword}")), content);
            // Reply codes coloured by class: the 354 blue, the final 250 green, the 550 red.
            await Expect(page.Locator(".dialogue .relay.code-3xx .line").First).ToHaveCSSAsync("color", "rgb(11, 79, 156)");
            await Expect(page.Locator(".dialogue .relay.code-2xx .line").Last).ToHaveCSSAsync("color", "rgb(17, 99, 41)");
            await Expect(page.Locator(".dialogue .relay.code-5xx .line").First).ToHaveCSSAsync("color", "rgb(179, 38, 30)");
            await Expect(page.Locator("#events")).ToContainTextAsync("message.partially_sent");
            // The event's webhook delivery and the receiver's answer (the page reads again while it is pending).
            await Expect(page.Locator("#events .delivery")).ToHaveTextAsync(new Regex($"^Webhook to {Regex.Escape(receiver.Url())}: delivered · 1 try: 200 "));
            await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Cancel message" })).ToHaveCountAsync(0);
            if (Environment.GetEnvironmentVariable("MAILAPI_UI_SCREENSHOT") is { Length: > 0 } picture && storage == "InMemory")
            {
                // A relative path is the repository's (docs/ui-message.png), not the test binaries' folder.
                await page.ScreenshotAsync(new() { Path = Path.Combine(Chromium.RepositoryRoot(), picture), FullPage = true });
            }

            // A scheduled one, a plain one; then the filters.
            var later = Bodies.Valid("student@domain.local");
            later["subject"] = "Reminder for tomorrow";
            later["sendAt"] = DateTimeOffset.UtcNow.AddDays(1).ToString("O");
            var laterId = await MailApiFactory.SendAsync(api, later);
            var plainId = await MailApiFactory.SendAsync(api, Bodies.Valid("student@domain.local"));
            await MailApiFactory.WaitForStatusAsync(api, plainId, Patience, "sent");

            await page.GetByRole(AriaRole.Link, new() { Name = "Back to messages" }).ClickAsync();
            await Expect(Row(page, "Test message").Locator("[data-status]")).ToHaveTextAsync("sent");
            await Expect(page.Locator("#messages tbody tr")).ToHaveCountAsync(3);

            await page.GetByLabel("Status").SelectOptionAsync("sent");
            await page.GetByRole(AriaRole.Button, new() { Name = "Apply filters" }).ClickAsync();
            await Expect(page.Locator("#messages tbody tr")).ToHaveCountAsync(1);
            await Expect(Row(page, "Test message")).ToBeVisibleAsync();
            Assert.Contains("status=sent", page.Url);

            await page.GetByRole(AriaRole.Button, new() { Name = "Clear" }).ClickAsync();
            await Expect(page.Locator("#messages tbody tr")).ToHaveCountAsync(3);
            await page.GetByLabel("Recipient", new() { Exact = true }).FillAsync("board@domain.local");
            await page.GetByLabel("Recipient", new() { Exact = true }).PressAsync("Enter");
            await Expect(page.Locator("#messages tbody tr")).ToHaveCountAsync(1);
            await Expect(Row(page, "Board minutes")).ToBeVisibleAsync();

            await page.GetByRole(AriaRole.Button, new() { Name = "Clear" }).ClickAsync();
            await page.GetByLabel("Queue id").FillAsync(queueId);
            await page.GetByRole(AriaRole.Button, new() { Name = "Apply filters" }).ClickAsync();
            await Expect(page.Locator("#messages tbody tr")).ToHaveCountAsync(1);
            await Expect(Row(page, "Board minutes")).ToBeVisibleAsync();

            await page.GetByRole(AriaRole.Button, new() { Name = "Clear" }).ClickAsync();
            // Whole minutes: Chromium keeps a value whose seconds are 00 without them, and Playwright then calls the fill malformed.
            await page.GetByLabel("Created after").FillAsync(DateTime.UtcNow.AddHours(1).ToString("yyyy-MM-ddTHH:mm"));
            await page.GetByRole(AriaRole.Button, new() { Name = "Apply filters" }).ClickAsync();
            await Expect(page.GetByText("No message matches these filters.")).ToBeVisibleAsync();
            await Expect(page.Locator("#messages tbody tr")).ToHaveCountAsync(0);

            await page.GetByRole(AriaRole.Button, new() { Name = "Clear" }).ClickAsync();
            await page.GetByLabel("Status").SelectOptionAsync("scheduled");
            await page.GetByRole(AriaRole.Button, new() { Name = "Apply filters" }).ClickAsync();
            await Expect(page.Locator("#messages tbody tr")).ToHaveCountAsync(1);
            await page.GetByRole(AriaRole.Link, new() { Name = "Reminder for tomorrow" }).ClickAsync();
            await Expect(page.GetByText("No attempt yet: the message waits for its send time.")).ToBeVisibleAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Cancel message" }).ClickAsync();
            var yes = page.GetByRole(AriaRole.Button, new() { Name = "Yes, cancel it" });
            await Expect(yes).ToBeFocusedAsync();
            await yes.ClickAsync();
            await Expect(page.Locator(".summary [data-status]")).ToHaveTextAsync("canceled");
            await Expect(page.Locator("#events")).ToContainTextAsync("message.canceled");
            await Expect(page.Locator("#events .delivery").Last).ToContainTextAsync("delivered · 1 try: 200");
            await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Cancel message" })).ToHaveCountAsync(0);
            Assert.Equal("canceled", (string?)(await api.GetFromJsonAsync<JsonObject>($"/v1/messages/{laterId}"))!["status"]);
        });
    }

    [Fact]
    public async Task A_wrong_key_is_told_clearly_and_kept_nowhere()
    {
        await using var service = await ActivityPageService.StartAsync();
        var (chromium, address) = (service.Chromium, service.Address);
        var page = await chromium.NewPageAsync();
        await Chromium.RunAsync(page, "activity-page-wrong-key", async () =>
        {
            await page.GotoAsync(address + "/ui/");
            // The key field has the focus: typing and Enter sign in, no mouse needed.
            await Expect(page.GetByLabel("API key")).ToBeFocusedAsync();
            await page.Keyboard.TypeAsync("not-the-key");
            await page.Keyboard.PressAsync("Enter");

            var alert = page.GetByRole(AriaRole.Alert);
            await Expect(alert).ToContainTextAsync("This API key was not accepted (401 Unauthorized)");
            await Expect(page.GetByLabel("API key")).ToHaveAttributeAsync("aria-invalid", "true");
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Messages" })).ToBeHiddenAsync();
            Assert.Null(await page.EvaluateAsync<string?>("sessionStorage.getItem('mailapi.apiKey')"));

            await page.GetByLabel("API key").FillAsync(MailApiFactory.AlphaKey);
            await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Messages" })).ToBeVisibleAsync();
            Assert.Equal(MailApiFactory.AlphaKey, await page.EvaluateAsync<string?>("sessionStorage.getItem('mailapi.apiKey')"));
            Assert.Equal(0, await page.EvaluateAsync<int>("localStorage.length"));
            Assert.Empty(await page.Context.CookiesAsync());

            await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
            await Expect(page.GetByLabel("API key")).ToBeVisibleAsync();
            Assert.Null(await page.EvaluateAsync<string?>("sessionStorage.getItem('mailapi.apiKey')"));
        });
    }

    [Fact]
    public async Task Another_keys_message_never_appears()
    {
        await using var service = await ActivityPageService.StartAsync();
        var (chromium, address) = (service.Chromium, service.Address);
        using var alpha = ApiClient(address, MailApiFactory.AlphaKey);
        using var beta = ApiClient(address, MailApiFactory.BetaKey);
        var theirs = Bodies.Valid();
        theirs["subject"] = "Beta's payroll";
        var theirId = await MailApiFactory.SendAsync(beta, theirs);
        var page = await chromium.NewPageAsync();
        await Chromium.RunAsync(page, "activity-page-other-key", async () =>
        {
            await page.GotoAsync(address + "/ui/");
            await SignInAsync(page, MailApiFactory.AlphaKey);
            var ours = Bodies.Valid();
            ours["subject"] = "Alpha's own";
            await MailApiFactory.SendAsync(alpha, ours);
            // The page has read the list since alpha's message was stored, and beta's is older: it would be there.
            await Expect(Row(page, "Alpha's own")).ToBeVisibleAsync();
            await Expect(page.Locator("#messages tbody tr")).ToHaveCountAsync(1);
            await Expect(page.GetByText("Beta's payroll")).ToHaveCountAsync(0);

            await page.GotoAsync($"{address}/ui/#/messages/{theirId}");
            await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("No such message for this API key");
            await Expect(page.GetByText("Beta's payroll")).ToHaveCountAsync(0);
        });
    }

    [Fact]
    public async Task The_list_pages_fifty_at_a_time_and_fits_a_phone()
    {
        await using var service = await ActivityPageService.StartAsync();
        var (chromium, address) = (service.Chromium, service.Address);
        using var api = ApiClient(address, MailApiFactory.AlphaKey);
        // 120 scheduled messages (no delivery needed): three pages of the list API.
        foreach (var (first, count) in new[] { (0, 100), (100, 20) })
        {
            var batch = new JsonArray();
            for (var i = first; i < first + count; i++)
            {
                var body = Bodies.Valid();
                body["subject"] = $"Number {i:000}";
                body["sendAt"] = DateTimeOffset.UtcNow.AddDays(1).ToString("O");
                batch.Add(body);
            }
            var response = await api.PostAsJsonAsync("/v1/messages/batch", new JsonObject { ["messages"] = batch });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        var page = await chromium.NewPageAsync(new() { ViewportSize = new() { Width = 390, Height = 844 }, IsMobile = true, HasTouch = true });
        var lists = new List<string>();
        page.Request += (_, request) =>
        {
            if (new Uri(request.Url).AbsolutePath == "/v1/messages")
            {
                lists.Add(new Uri(request.Url).Query);
            }
        };
        await Chromium.RunAsync(page, "activity-page-paging", async () =>
        {
            await page.GotoAsync(address + "/ui/");
            await SignInAsync(page, MailApiFactory.AlphaKey);
            var rows = page.Locator("#messages tbody tr");
            await Expect(rows).ToHaveCountAsync(50);
            await Expect(rows.First).ToContainTextAsync("Number 119");
            await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Newer" })).ToBeDisabledAsync();

            await page.GetByRole(AriaRole.Button, new() { Name = "Older" }).ClickAsync();
            await Expect(rows.First).ToContainTextAsync("Number 069");
            await Expect(rows).ToHaveCountAsync(50);
            await page.GetByRole(AriaRole.Button, new() { Name = "Older" }).ClickAsync();
            await Expect(rows.First).ToContainTextAsync("Number 019");
            await Expect(rows).ToHaveCountAsync(20);
            await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Older" })).ToBeDisabledAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Newer" }).ClickAsync();
            await Expect(rows.First).ToContainTextAsync("Number 069");
            await page.GetByRole(AriaRole.Button, new() { Name = "Newest" }).ClickAsync();
            await Expect(rows.First).ToContainTextAsync("Number 119");

            // On a phone each message is a card with labelled cells, and nothing is wider than the screen.
            Assert.True(await page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"),
                "the page scrolls sideways on a 390 px screen");
            await Expect(rows.First.Locator("td[data-label='Subject']")).ToBeVisibleAsync();
            await Expect(page.Locator("#messages thead")).Not.ToBeInViewportAsync();

            await page.GetByRole(AriaRole.Link, new() { Name = "Number 119" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Number 119");
            Assert.True(await page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"),
                "the message page scrolls sideways on a 390 px screen");

            // Every request for the list asked for one page, never for everything.
            Assert.NotEmpty(lists);
            Assert.All(lists, query => Assert.Contains("limit=50", query));
        });
    }

    private static ILocator Row(IPage page, string subject) =>
        page.Locator("#messages tbody tr").Filter(new() { Has = page.GetByRole(AriaRole.Link, new() { Name = subject, Exact = true }) });

    private sealed record Turn(string Who, string Line);

    /// <summary>The first attempt's dialogue as the page shows it: who spoke (C or S) and the line(s).</summary>
    private static async Task<IReadOnlyList<Turn>> Turns(IPage page)
    {
        var turns = await page.Locator(".dialogue").First.Locator(".turn").EvaluateAllAsync<string[][]>(
            "items => items.map(t => [t.classList.contains('client') ? 'C' : 'S', t.querySelector('.line').textContent])");
        return turns.Select(t => new Turn(t[0], t[1])).ToList();
    }

    /// <summary>The relay's turn right after the client's <paramref name="command"/>.</summary>
    private static Turn Reply(IReadOnlyList<Turn> turns, string command)
    {
        var index = turns.ToList().FindIndex(t => t is { Who: "C" } && t.Line == command);
        Assert.True(index >= 0 && index + 1 < turns.Count && turns[index + 1].Who == "S",
            $"'{command}' and the relay's reply in the dialogue: {string.Join(" | ", turns.Select(t => $"{t.Who}: {t.Line}"))}");
        return turns[index + 1];
    }
}
