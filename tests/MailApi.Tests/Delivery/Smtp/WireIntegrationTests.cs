using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;

namespace MailApi.Tests.Delivery.Smtp;

/// <summary>
/// What reaches the wire for awkward input and what the service makes of the relay's answers:
/// international addresses, queue ids, and error texts, each through the running service and a real SMTP server.
/// </summary>
public sealed class WireIntegrationTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private static readonly string[] Final = ["sent", "partially_sent", "failed"];

    private static async Task<(HttpClient Client, string Id)> SendAsync(MailApiFactory factory, JsonObject body)
    {
        var client = factory.ClientFor(MailApiFactory.BetaKey);
        var response = await client.PostAsJsonAsync("/v1/messages", body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var created = await response.Content.ReadFromJsonAsync<JsonObject>();
        return (client, (string)created!["id"]!);
    }

    [Fact]
    public async Task An_OpenSmtpd_queue_id_without_a_digit_is_recognised()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        relay.FinalReply(250, "2.0.0 abcdefab Message accepted for delivery");
        using var factory = new MailApiFactory(relay.Port);

        var (client, id) = await SendAsync(factory, Bodies.Valid());
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, Final);

        Assert.Equal("sent", (string?)message["status"]);
        Assert.Equal("abcdefab", (string?)message["queueId"]);
        Assert.Equal("abcdefab Message accepted for delivery", (string?)message["finalReply"]!["text"]);
    }

    [Fact]
    public async Task An_idn_recipient_through_a_relay_without_smtputf8_gets_one_copy_and_is_sent()
    {
        await using var relay = RawSmtpServer.Dialogue(RawSmtpServer.DefaultAnswer);
        using var factory = new MailApiFactory(relay.Port);

        var (client, id) = await SendAsync(factory, Bodies.Valid("x@bücher.test"));
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, Final);

        Assert.Equal("sent", (string?)message["status"]);
        var recipient = Assert.Single(message["recipients"]!.AsArray())!;
        Assert.Equal(("x@bücher.test", "accepted"), ((string?)recipient["address"], (string?)recipient["status"]));
        Assert.Single(message["attempts"]!.AsArray());
        Assert.Equal(["RCPT TO:<x@xn--bcher-kva.test>"], relay.ReceivedLines.Where(l => l.StartsWith("RCPT", StringComparison.Ordinal)));
        Assert.Single(relay.ReceivedLines, "DATA");
    }

    [Fact]
    public async Task An_a_label_recipient_through_a_relay_with_smtputf8_is_matched_to_its_reply()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        using var factory = new MailApiFactory(relay.Port);

        var (client, id) = await SendAsync(factory, Bodies.Valid("y@xn--bcher-kva.test"));
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, Final);

        Assert.Equal("sent", (string?)message["status"]);
        Assert.Equal("accepted", (string?)message["recipients"]![0]!["status"]);
        Assert.Single(message["attempts"]!.AsArray());
        Assert.Single(relay.Messages);
    }

    /// <summary>A relay like <see cref="RawSmtpServer.DefaultAnswer"/> that also offers SMTPUTF8 (RFC 6531).</summary>
    private static string WithSmtpUtf8(string command) => command.StartsWith("EHLO", StringComparison.OrdinalIgnoreCase)
        ? RawSmtpServer.DefaultAnswer(command).Replace("250 ENHANCEDSTATUSCODES", "250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES", StringComparison.Ordinal)
        : RawSmtpServer.DefaultAnswer(command);

    [Theory]
    [InlineData("zotrim@domain.local", "jörg@domain.local")]
    [InlineData("Jörg <jörg@domain.local>", "student@domain.local")]
    public async Task A_non_ascii_local_part_to_a_relay_without_smtputf8_fails_and_nothing_is_sent(string from, string to)
    {
        await using var relay = RawSmtpServer.Dialogue(RawSmtpServer.DefaultAnswer);
        using var factory = new MailApiFactory(relay.Port);
        var body = Bodies.Valid(to, "other@domain.local");
        body["from"] = from;

        var (client, id) = await SendAsync(factory, body);
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, Final);

        Assert.Equal("failed", (string?)message["status"]);
        var attempt = Assert.Single(message["attempts"]!.AsArray())!;
        Assert.Contains("SMTPUTF8", (string?)attempt["error"]);
        Assert.Contains("jörg@domain.local", (string?)attempt["error"]);
        Assert.Null(message["nextAttemptAt"]);
        Assert.All(message["recipients"]!.AsArray(), r => Assert.Equal("rejected", (string?)r!["status"]));
        Assert.DoesNotContain(relay.ReceivedLines, l => l.StartsWith("MAIL", StringComparison.OrdinalIgnoreCase) || l == "DATA");
    }

    [Fact]
    public async Task A_non_ascii_local_part_to_a_relay_with_smtputf8_goes_out_with_smtputf8()
    {
        await using var relay = RawSmtpServer.Dialogue(WithSmtpUtf8);
        using var factory = new MailApiFactory(relay.Port);
        var body = Bodies.Valid("jörg@bücher.test");
        body["from"] = "Jörg <jörg@domain.local>";

        var (client, id) = await SendAsync(factory, body);
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, Final);

        Assert.Equal("sent", (string?)message["status"]);
        Assert.Equal("accepted", (string?)message["recipients"]![0]!["status"]);
        var lines = relay.ReceivedLines;
        Assert.Contains(lines, l => l.StartsWith("MAIL FROM:<jörg@domain.local> SMTPUTF8", StringComparison.Ordinal));
        Assert.Contains("RCPT TO:<jörg@bücher.test>", lines);
        Assert.Single(lines, "DATA");
        // RFC 6532: with SMTPUTF8 the headers carry the addresses in UTF-8.
        Assert.Contains(lines, l => l.StartsWith("To: jörg@bücher.test", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_non_ascii_local_part_reaches_an_smtputf8_server_as_sent()
    {
        // The SmtpServer package offers SMTPUTF8 but reads a domain as ASCII, so the domain here is one.
        await using var relay = await TestSmtpServer.StartAsync();
        using var factory = new MailApiFactory(relay.Port);
        var body = Bodies.Valid("jörg@domain.local");
        body["from"] = "Joerg <joerg@domain.local>";

        var (client, id) = await SendAsync(factory, body);
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, Final);

        Assert.Equal("sent", (string?)message["status"]);
        var received = Assert.Single(relay.Messages);
        Assert.Equal(("joerg@domain.local", "jörg@domain.local"), (received.From, Assert.Single(received.Recipients)));
        Assert.Equal("jörg@domain.local", received.Message.To.Mailboxes.Single().Address);
    }

    [Fact]
    public async Task Bare_cr_and_lf_in_text_and_message_attachments_never_end_a_line_on_the_wire()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        using var factory = new MailApiFactory(relay.Port);
        var smuggled = "a\r.\rMAIL FROM:<x@evil.test>\rRCPT TO:<victim@domain.local>\rb\n.\nc"u8.ToArray();
        var embedded = "Subject: inner\r\n\r\n"u8.ToArray().Concat(smuggled).ToArray();
        var body = Bodies.Valid();
        body["attachments"] = new JsonArray(
            new JsonObject { ["filename"] = "a.txt", ["contentType"] = "text/plain", ["content"] = Convert.ToBase64String(smuggled) },
            new JsonObject { ["filename"] = "b.eml", ["contentType"] = "message/rfc822", ["content"] = Convert.ToBase64String(embedded) },
            new JsonObject { ["filename"] = "c.eml", ["content"] = Convert.ToBase64String(embedded) }); // message/rfc822 by its name

        var (client, id) = await SendAsync(factory, body);
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, Final);

        Assert.Equal("sent", (string?)message["status"]);
        var received = Assert.Single(relay.Messages);
        Assert.Equal(["student@domain.local"], received.Recipients);
        var raw = received.Raw;
        for (var i = 0; i < raw.Length; i++)
        {
            Assert.False(raw[i] == '\r' && (i + 1 == raw.Length || raw[i + 1] != '\n'), $"bare CR at byte {i}");
            Assert.False(raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r'), $"bare LF at byte {i}");
        }
        // The text file arrives byte for byte (base64); the embedded message keeps its lines, each ending in CRLF.
        var text = (MimeKit.MimePart)received.Message.Attachments.Single(a => a.ContentDisposition?.FileName == "a.txt");
        using var decoded = new MemoryStream();
        text.Content!.DecodeTo(decoded);
        Assert.Equal(smuggled, decoded.ToArray());
        var inner = ((MimeKit.MessagePart)received.Message.Attachments.Single(a => a.ContentDisposition?.FileName == "b.eml")).Message;
        Assert.Equal("inner", inner!.Subject);
        Assert.Equal("a\n.\nMAIL FROM:<x@evil.test>\nRCPT TO:<victim@domain.local>\nb\n.\nc", inner.TextBody!.Replace("\r\n", "\n").TrimEnd('\n'));
    }

    [Fact]
    public async Task When_every_recipient_is_deferred_the_error_quotes_the_relay_and_keeps_the_give_up_reason()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        relay.DeferRecipient("busy@domain.local");
        relay.DeferRecipient("late@domain.local", 451, "4.7.1 Try again later");
        using var factory = new MailApiFactory(relay.Port);

        var (client, id) = await SendAsync(factory, Bodies.Valid("busy@domain.local", "late@domain.local"));
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, Final);

        Assert.Equal("failed", (string?)message["status"]);
        var errors = message["attempts"]!.AsArray().Select(a => (string)a!["error"]!).ToList();
        Assert.Equal(4, errors.Count); // the first try and the three retries of MailApiFactory's schedule
        Assert.All(errors, e =>
        {
            // MailKit's own "554 No recipients were accepted" is no reply the relay gave.
            Assert.DoesNotContain("554", e);
            Assert.StartsWith("No recipient was accepted:", e);
            Assert.Contains("450 4.2.0 <busy@domain.local>: Recipient address rejected: Greylisted, try again later", e);
            Assert.Contains("451 4.7.1 Try again later", e);
        });
        Assert.EndsWith("Gave up after 4 attempts (Delivery:RetryDelays).", errors[^1]);
        Assert.Empty(relay.Messages);
    }

    [Fact]
    public async Task When_every_recipient_is_rejected_the_error_quotes_the_relay()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        relay.RejectRecipient("gone@domain.local");
        using var factory = new MailApiFactory(relay.Port);

        var (client, id) = await SendAsync(factory, Bodies.Valid("gone@domain.local"));
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, Final);

        Assert.Equal("failed", (string?)message["status"]);
        var error = (string?)Assert.Single(message["attempts"]!.AsArray())!["error"];
        Assert.Equal($"No recipient was accepted: 127.0.0.1:{relay.Port} answered 550 5.1.1 <gone@domain.local>: Recipient address "
            + "rejected: User unknown to every RCPT TO.", error);
    }
}
