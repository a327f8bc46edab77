using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace MailApi.Tests.Hosting;

/// <summary>
/// Swagger UI in a real browser, as a person uses it: open <c>/</c>, Authorize with the key, Try it out
/// <c>POST /v1/messages</c> with its example, see 202, then <c>GET /v1/messages/{id}</c> and see <c>sent</c> with the
/// relay's "queued as". Debian's Chromium through Playwright (nothing downloaded); the service on a real port,
/// delivering to an in-process SMTP relay. A failure leaves a screenshot in <c>.ci/out</c>.
/// </summary>
[Trait("Category", Chromium.Category)]
public sealed class SwaggerUiBrowserTests
{
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_person_sends_the_example_from_swagger_ui_and_reads_it_sent()
    {
        await using var chromium = await Chromium.LaunchAsync("the Swagger UI walk-through");
        await using var relay = await TestSmtpServer.StartAsync();
        await using var factory = new MailApiFactory(relay.Port);
        var address = Chromium.Serve(factory);

        var page = await chromium.NewPageAsync();
        await Chromium.RunAsync(page, "swagger-ui", async () =>
        {
            await page.GotoAsync(address + "/");
            await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/swagger/"));

            await AuthorizeAsync(page, MailApiFactory.AlphaKey);

            var send = Operation(page, "post", "/v1/messages");
            var sent = await ExecuteAsync(send, expectedStatus: "202");
            var id = (string)JsonNode.Parse(sent)!["id"]!;
            Assert.Equal("queued", (string?)JsonNode.Parse(sent)!["status"]);

            // Wait for the state, not for a time: the API says when the relay's 250 is recorded.
            using var api = new HttpClient { BaseAddress = new Uri(address) };
            api.DefaultRequestHeaders.Add("X-Api-Key", MailApiFactory.AlphaKey);
            await MailApiFactory.WaitForStatusAsync(api, id, DeliveryTimeout, "sent");

            var get = Operation(page, "get", "/v1/messages/{id}");
            var status = await ExecuteAsync(get, expectedStatus: "200", fill: async op =>
                await op.Locator("tr[data-param-name='id'] input").FillAsync(id));
            var resource = JsonNode.Parse(status)!;
            Assert.Equal(id, (string?)resource["id"]);
            Assert.Equal("sent", (string?)resource["status"]);
            Assert.Contains("queued as", (string?)resource["finalReply"]!["text"]);
            var transcript = resource["attempts"]![0]!["transcript"]!.AsArray();
            Assert.Contains(transcript, e => ((string?)e!["reply"]!["text"])?.Contains("queued as") == true);
            Assert.Contains(relay.Messages, m => m.QueueId == (string?)resource["queueId"] && m.Message.Subject == "Test message");
        });
    }

    private static async Task AuthorizeAsync(IPage page, string key)
    {
        await page.Locator(".scheme-container button.authorize").ClickAsync();
        var dialog = page.Locator(".dialog-ux .modal-ux");
        // Two schemes are offered (X-Api-Key and Bearer), each in its own form; either is enough: the first, X-Api-Key.
        var form = dialog.Locator("form").Filter(new() { HasTextString = "X-Api-Key" });
        await form.Locator("input[type=text], input[type=password]").FillAsync(key);
        await form.Locator(".auth-btn-wrapper button.authorize").ClickAsync();
        // Swagger UI swaps Authorize for Logout once it holds the key (its accessible name is "Remove authorization").
        await Expect(form.Locator(".auth-btn-wrapper button", new() { HasTextString = "Logout" })).ToBeVisibleAsync();
        await form.Locator("button.btn-done").ClickAsync();
    }

    /// <summary>The operation block by method and path as Swagger UI renders it, expanded.</summary>
    private static ILocator Operation(IPage page, string method, string path) =>
        page.Locator($".opblock.opblock-{method}").Filter(new() { Has = page.Locator($".opblock-summary-path[data-path='{path}']") });

    /// <summary>Expands the operation, presses Try it out, fills it, Executes, and returns the body the UI shows.</summary>
    private static async Task<string> ExecuteAsync(ILocator operation, string expectedStatus, Func<ILocator, Task>? fill = null)
    {
        await operation.Locator(".opblock-summary").First.ClickAsync();
        await operation.Locator("button.try-out__btn").ClickAsync();
        if (fill is not null)
        {
            await fill(operation);
        }
        await operation.Locator("button.execute").ClickAsync();
        var live = operation.Locator(".live-responses-table .response").First;
        await Expect(live.Locator(".response-col_status")).ToHaveTextAsync(expectedStatus);
        return await live.Locator(".response-col_description pre.microlight, .response-col_description .highlight-code pre").First.InnerTextAsync();
    }
}
