using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using MailApi.Storage;
using MailApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace MailApi.Tests.Messages;

/// <summary>
/// Well-formed JSON the service must still refuse at submit: a schedule it cannot hold, headers that speak
/// for the sender, parts MIME cannot be built from, and more parts than docs/API.md allows. Each is a 400 naming the
/// field, and nothing is stored. The relay is a closed port: delivery is not under test here.
/// </summary>
public sealed class RefusedContentTests : IClassFixture<NoRelayService>
{
    private readonly MailApiFactory _factory;

    public RefusedContentTests(NoRelayService service) => _factory = service.Factory;

    private async Task<long> PendingAsync() => (await _factory.Services.GetRequiredService<IMessageStore>().BacklogAsync(CancellationToken.None)).Messages;

    /// <summary>Posts <paramref name="body"/> and checks for a 400 problem whose errors name <paramref name="key"/> and nothing stored.</summary>
    private async Task AssertRefused(string path, JsonNode body, string key)
    {
        var before = await PendingAsync();
        var response = await _factory.ClientFor().PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.True(JsonNode.Parse(text)!["errors"]!.AsObject().ContainsKey(key), $"no error keyed '{key}' in {text}");
        Assert.Equal(before, await PendingAsync());
    }

    private static JsonObject With(string field, JsonNode value)
    {
        var body = Bodies.Valid();
        body[field] = value;
        return body;
    }

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    // Item 2: a sendAt beyond Limits:MaxScheduleAhead (30 days) is refused before anything is stored.

    [Theory]
    [InlineData("9999-12-31T23:59:59.9999999Z")]
    [InlineData("+31")]
    public async Task Send_at_beyond_the_schedule_limit_is_400_naming_sendAt(string sendAt)
    {
        var value = sendAt.StartsWith('+') ? DateTimeOffset.UtcNow.AddDays(int.Parse(sendAt)).ToString("O") : sendAt;
        await AssertRefused("/v1/messages", With("sendAt", value), "sendAt");
    }

    [Fact]
    public async Task Send_at_beyond_the_schedule_limit_in_a_batch_is_400_naming_the_message_and_stores_none()
    {
        var batch = new JsonObject { ["messages"] = new JsonArray(Bodies.Valid(), With("sendAt", "9999-12-31T23:59:59.9999999Z")) };
        await AssertRefused("/v1/messages/batch", batch, "messages[1].sendAt");
    }

    [Fact]
    public async Task Send_at_within_the_schedule_limit_is_scheduled()
    {
        var response = await _factory.ClientFor().PostAsJsonAsync("/v1/messages", With("sendAt", DateTimeOffset.UtcNow.AddDays(29).ToString("O")));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("scheduled", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>())!["status"]);
    }

    // Item 5: headers that speak for the sender or the path, and names that differ only in case.

    [Theory]
    [InlineData("Sender")]
    [InlineData("sender")]
    [InlineData("Resent-From")]
    [InlineData("Resent-Message-ID")]
    [InlineData("Return-Path")]
    [InlineData("Received")]
    [InlineData("DKIM-Signature")]
    [InlineData("ARC-Seal")]
    [InlineData("Arc-Message-Signature")]
    [InlineData("Authentication-Results")]
    public async Task Header_that_speaks_for_the_sender_or_path_is_400_naming_it(string name) =>
        await AssertRefused("/v1/messages", With("headers", new JsonObject { [name] = "ceo@domain.local", ["X-Fine"] = "ok" }), $"headers.{name}");

    [Fact]
    public async Task Header_names_differing_only_in_case_are_400() =>
        await AssertRefused("/v1/messages", With("headers", new JsonObject { ["X-A"] = "1", ["x-a"] = "2" }), "headers.x-a");

    // Item 6: what MIME cannot be built from is refused at submit, not retried for hours.

    [Theory]
    [InlineData("(((", null, "hello", "attachments[0].contentId")]
    [InlineData("logo", null, "hello", "attachments[0].contentId")]
    [InlineData(null, "message/rfc822", "this is no message", "attachments[0].content")]
    [InlineData(null, "message/rfc822", "", "attachments[0].content")]
    [InlineData(null, "multipart/mixed", "hello", "attachments[0].contentType")]
    [InlineData(null, "Multipart/Alternative; boundary=x", "hello", "attachments[0].contentType")]
    [InlineData(null, "text/plain; charset=\"", "hello", "attachments[0].contentType")]
    public async Task Attachment_that_cannot_be_built_into_mime_is_400_naming_the_field(string? contentId, string? contentType, string content, string key)
    {
        var attachment = new JsonObject { ["filename"] = "a.bin", ["content"] = Base64(content), ["contentId"] = contentId, ["contentType"] = contentType };
        var body = With("attachments", new JsonArray(attachment));
        body["html"] = "<img src=\"cid:x\">";
        await AssertRefused("/v1/messages", body, key);
    }

    [Fact]
    public async Task An_eml_attachment_without_a_content_type_is_checked_as_the_message_it_will_be_sent_as()
    {
        var attachment = new JsonObject { ["filename"] = "forwarded.eml", ["content"] = Base64("this is no message") };
        await AssertRefused("/v1/messages", With("attachments", new JsonArray(attachment)), "attachments[0].content");
    }

    [Fact]
    public async Task Attachment_with_an_rfc2392_id_and_a_real_rfc822_message_is_accepted()
    {
        var body = With("attachments", new JsonArray(
            new JsonObject { ["filename"] = "logo.png", ["content"] = Base64("png"), ["contentId"] = "logo.1@domain.local" },
            new JsonObject { ["filename"] = "fwd.eml", ["content"] = Base64("Subject: hi\r\nFrom: a@domain.local\r\n\r\nbody\r\n"), ["contentType"] = "message/rfc822" }));

        var response = await _factory.ClientFor().PostAsJsonAsync("/v1/messages", body);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    // Counts and sizes at and past the bounds of docs/API.md, "POST /v1/messages: send one message".

    private static JsonArray Many(int count, Func<int, JsonNode> item) => new(Enumerable.Range(0, count).Select(item).ToArray());

    private static JsonObject Headers(int count, int valueLength) =>
        new(Enumerable.Range(0, count).Select(i => KeyValuePair.Create($"X-H{i}", (JsonNode?)new string('v', valueLength))));

    private static JsonNode Attachment(int i) => new JsonObject { ["filename"] = $"a{i}.txt", ["content"] = Base64("x") };

    [Fact]
    public async Task More_than_10_reply_to_is_400_naming_replyTo() =>
        await AssertRefused("/v1/messages", With("replyTo", Many(11, i => $"r{i}@domain.local")), "replyTo");

    [Fact]
    public async Task More_than_50_custom_headers_is_400_naming_headers() =>
        await AssertRefused("/v1/messages", With("headers", Headers(51, 1)), "headers");

    [Fact]
    public async Task Header_value_over_2000_characters_is_400_naming_the_header() =>
        await AssertRefused("/v1/messages", With("headers", Headers(1, 2001)), "headers.X-H0");

    [Fact]
    public async Task More_than_100_attachments_is_400_naming_attachments() =>
        await AssertRefused("/v1/messages", With("attachments", Many(101, Attachment)), "attachments");

    [Fact]
    public async Task Parts_at_the_contract_limits_are_accepted()
    {
        var body = With("replyTo", Many(10, i => $"r{i}@domain.local"));
        body["headers"] = Headers(50, 2000);
        body["attachments"] = Many(100, Attachment);

        var response = await _factory.ClientFor().PostAsJsonAsync("/v1/messages", body);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }
}
