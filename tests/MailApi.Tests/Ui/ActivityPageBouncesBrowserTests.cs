using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using MailApi.Bounces;
using MailApi.Tests.Infrastructure;
using Microsoft.Playwright;
using static MailApi.Tests.Ui.ActivityPageService;
using static Microsoft.Playwright.Assertions;

namespace MailApi.Tests.Ui;

/// <summary>
/// Bounce reports in the activity page, in Debian's Chromium, against the service on a real port and a real SMTP relay:
/// after the relay took a message, Postfix's DSNs handed in over <c>POST /v1/bounces</c> (from the fixture corpus, their
/// envelope id made this message's) show beside the recipients' RCPT replies: the hard bounce <c>bounced</c> with its
/// status, class, diagnostic and MTAs, the delay on a recipient that stays <c>accepted</c>, and the message
/// <c>partially_sent</c>; a message whose every recipient bounced is <c>bounced</c> in the list. In memory and on PostgreSQL.
/// </summary>
[Trait("Category", Chromium.Category)]
public sealed class ActivityPageBouncesBrowserTests
{
    private const string Hard = "alice@hard.test";
    private const string Later = "erin@later.test";
    private const string Ok = "ok@domain.local";

    [Theory]
    [InlineData("InMemory")]
    [InlineData("PostgreSql")]
    public async Task A_bounce_report_shows_beside_the_recipients_rcpt_reply(string storage)
    {
        await using var service = await ActivityPageService.StartAsync(
            new() { ["Auth:ApiKeys:0:Bounces"] = "true" }, storage: storage, walkThrough: "the bounces walk-through");
        var (chromium, address) = (service.Chromium, service.Address);
        using var api = ApiClient(address, MailApiFactory.AlphaKey);

        var body = Bodies.Valid(Hard, Ok, Later);
        body["subject"] = "Bounced later";
        var id = await MailApiFactory.SendAsync(api, body);
        var only = Bodies.Valid(Hard);
        only["subject"] = "All bounced";
        var onlyId = await MailApiFactory.SendAsync(api, only);
        await MailApiFactory.WaitForStatusAsync(api, id, Patience, "sent");
        await MailApiFactory.WaitForStatusAsync(api, onlyId, Patience, "sent");
        // The reports as the relay would have mailed them: the hard bounce, then the delay.
        var hard = await HandInAsync(api, Dsn("postfix-hard.eml", "0193f1e2-a7c0-7b1e-9d3f-2c5a8e6b4f10", id));
        Assert.Equal(("envelope_id", id), ((string?)hard["matchedBy"], (string?)hard["messageId"]));
        await MailApiFactory.WaitForStatusAsync(api, id, Patience, "partially_sent");
        var delayed = await HandInAsync(api, Dsn("postfix-delayed.eml", "0193f1e5-d00d-7e11-b22c-33d44e55f667", id));
        Assert.Equal(("envelope_id", id), ((string?)delayed["matchedBy"], (string?)delayed["messageId"]));
        // (Another report, with a Message-ID of its own: the same one again would be taken as the first.)
        await HandInAsync(api, Dsn("postfix-hard.eml", "0193f1e2-a7c0-7b1e-9d3f-2c5a8e6b4f10", onlyId)
            .Replace("Message-Id: <", "Message-Id: <only.", StringComparison.Ordinal));
        await MailApiFactory.WaitForStatusAsync(api, onlyId, Patience, "bounced");
        var message = (await api.GetFromJsonAsync<JsonObject>($"/v1/messages/{id}"))!;
        var hardAt = (string)Recipient(message, Hard)["bounce"]!["at"]!;

        var page = await chromium.NewPageAsync(new() { TimezoneId = "UTC", ViewportSize = new() { Width = 1280, Height = 900 } });
        await Chromium.RunAsync(page, $"bounces-page-{storage}", async () =>
        {
            await page.GotoAsync(address + "/ui/");
            await SignInAsync(page, MailApiFactory.AlphaKey);
            // The list shows each message's status as it is after the reports: bounced when no recipient is left accepted.
            var rows = page.Locator("#messages tbody tr");
            await Expect(rows.Filter(new() { HasText = "Bounced later" }).Locator("[data-status]")).ToHaveTextAsync("partially sent");
            await Expect(rows.Filter(new() { HasText = "All bounced" }).Locator("[data-status]")).ToHaveTextAsync("bounced");

            await page.GetByRole(AriaRole.Link, new() { Name = "Bounced later", Exact = true }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Bounced later");
            await Expect(page.Locator(".summary [data-status]")).ToHaveAttributeAsync("data-status", "partially_sent");

            var recipients = page.Locator("#recipients tbody tr");
            // The hard bounce: bounced, and beside the relay's 250 the report's words.
            var bounced = recipients.Filter(new() { HasText = Hard });
            await Expect(bounced.Locator("[data-status]")).ToHaveTextAsync("bounced");
            await Expect(bounced.Locator(".reply")).ToContainTextAsync("250");
            var report = bounced.Locator(".bounce");
            await Expect(report).ToHaveAttributeAsync("data-action", "failed");
            await Expect(report.Locator(".action")).ToHaveTextAsync("Bounced");
            await Expect(report.Locator(".dsn-status")).ToHaveTextAsync("5.1.1");
            await Expect(report.Locator(".bounce-class")).ToHaveTextAsync("hard");
            await Expect(report.Locator(".diagnostic")).ToContainTextAsync("smtp; 550 5.1.1 <alice@hard.test>: Recipient address rejected:");
            await Expect(report.Locator(".diagnostic")).ToContainTextAsync("User unknown in virtual mailbox table");
            await Expect(report).ToContainTextAsync("reported by relay.mailapi.test");
            await Expect(report).ToContainTextAsync("remote MTA 127.0.0.1");
            await Expect(report.Locator("time")).ToHaveAttributeAsync("datetime", hardAt);

            // The delay: the recipient stays accepted and carries the report, shown the same way.
            var later = recipients.Filter(new() { HasText = Later });
            await Expect(later.Locator("[data-status]")).ToHaveTextAsync("accepted");
            await Expect(later.Locator(".bounce")).ToHaveAttributeAsync("data-action", "delayed");
            await Expect(later.Locator(".bounce .action")).ToHaveTextAsync("Delayed");
            await Expect(later.Locator(".bounce .dsn-status")).ToHaveTextAsync("4.2.1");
            await Expect(later.Locator(".bounce .diagnostic")).ToContainTextAsync("450 4.2.1");

            // The recipient no report names: accepted, its reply alone.
            var ok = recipients.Filter(new() { HasText = Ok });
            await Expect(ok.Locator("[data-status]")).ToHaveTextAsync("accepted");
            await Expect(ok.Locator(".reply")).ToContainTextAsync("250");
            await Expect(ok.Locator(".bounce")).ToHaveCountAsync(0);
        });
    }

    /// <summary>A Postfix DSN from the fixture corpus, its envelope id (<paramref name="fixtureId"/>) made the message's.</summary>
    private static string Dsn(string fixture, string fixtureId, string id) =>
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Bounces", "Fixtures", fixture)).Replace(fixtureId, id, StringComparison.Ordinal);

    private static async Task<JsonObject> HandInAsync(HttpClient api, string mail)
    {
        var response = await api.PostAsync("/v1/bounces", new StringContent(mail, Encoding.UTF8, BouncesApi.MediaType));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private static JsonObject Recipient(JsonObject message, string address) =>
        message["recipients"]!.AsArray().Single(r => (string?)r!["address"] == address)!.AsObject();
}
