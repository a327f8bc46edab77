using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;

namespace MailApi.Tests.Delivery;

/// <summary>
/// POST → store → Hangfire job → MailKit → a real SMTP server on 127.0.0.1 → GET, for each way a relay can answer.
/// Retries are configured 1 s apart so the retry cases finish quickly.
/// </summary>
public sealed class DeliveryIntegrationTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private static async Task<(HttpClient Client, string Id)> SendAsync(MailApiFactory factory, JsonObject body)
    {
        var client = factory.ClientFor(MailApiFactory.AlphaKey);
        var response = await client.PostAsJsonAsync("/v1/messages", body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var created = await response.Content.ReadFromJsonAsync<JsonObject>();
        return (client, (string)created!["id"]!);
    }

    private static JsonArray Transcript(JsonObject message, int attempt = 0) =>
        message["attempts"]![attempt]!["transcript"]!.AsArray();

    private static IEnumerable<(string? Command, int Code)> Steps(JsonArray transcript) =>
        transcript.Select(e => ((string?)e!["command"], (int?)e["reply"]?["code"] ?? 0));

    [Fact]
    public async Task Happy_path_records_every_command_with_its_reply_and_the_queue_id()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        using var factory = new MailApiFactory(relay.Port);
        var body = Bodies.Valid("student@domain.local");
        body["cc"] = new JsonArray("Teacher <teacher@domain.local>");
        body["bcc"] = new JsonArray("archive@domain.local");
        body["replyTo"] = new JsonArray("help@domain.local");
        body["html"] = "<p>Hello <img src=\"cid:logo@domain.local\"></p>";
        body["headers"] = new JsonObject { ["X-Campaign"] = "welcome" };
        body["attachments"] = new JsonArray(
            new JsonObject { ["filename"] = "hello.txt", ["contentType"] = "text/plain", ["content"] = Convert.ToBase64String("Hi!"u8.ToArray()) },
            new JsonObject { ["filename"] = "logo.png", ["contentType"] = "image/png", ["content"] = "iVBORw0KGgo=", ["contentId"] = "logo@domain.local" });
        body["metadata"] = new JsonObject { ["userId"] = "42" };

        var (client, id) = await SendAsync(factory, body);
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, "sent", "failed", "deferred", "partially_sent");

        Assert.Equal("sent", (string?)message["status"]);
        var received = Assert.Single(relay.Messages);
        Assert.Equal(received.QueueId, (string?)message["queueId"]);
        Assert.Equal(250, (int)message["finalReply"]!["code"]!);
        Assert.Equal(["code", "enhancedCode", "text"], message["finalReply"]!.AsObject().Select(p => p.Key));
        Assert.Equal($"127.0.0.1:{relay.Port}", (string?)message["upstream"]);
        Assert.All(message["recipients"]!.AsArray(), r => Assert.Equal("accepted", (string?)r!["status"]));

        var transcript = Transcript(message);
        Assert.Equal(
            [
                (null, 220), ("EHLO mailapi.test", 250), ("MAIL FROM:<zotrim@domain.local>", 250),
                ("RCPT TO:<student@domain.local>", 250), ("RCPT TO:<teacher@domain.local>", 250), ("RCPT TO:<archive@domain.local>", 250),
                ("DATA", 354), (".", 250), // no QUIT: the connection stays open for the next message (Smtp:Pool)
            ],
            Steps(transcript).Select(s => (s.Command?.Split(' ')[0] == "MAIL" ? "MAIL FROM:<zotrim@domain.local>" : s.Command, s.Code)));
        Assert.Contains(received.QueueId, (string?)transcript[7]!["reply"]!["text"]);
        Assert.Equal("sent", (string?)message["attempts"]![0]!["outcome"]);
        Assert.DoesNotContain("simple message", transcript.ToJsonString());

        // What the relay received: the envelope has the Bcc recipient, the headers do not.
        Assert.Equal(["student@domain.local", "teacher@domain.local", "archive@domain.local"], received.Recipients);
        var mime = received.Message;
        Assert.Equal($"<{mime.MessageId}>", (string?)message["messageId"]);
        Assert.Equal(("Zotrim", "zotrim@domain.local"), (mime.From.Mailboxes.Single().Name, mime.From.Mailboxes.Single().Address));
        Assert.Equal("student@domain.local", mime.To.ToString());
        Assert.Equal("\"Teacher\" <teacher@domain.local>", mime.Cc.ToString());
        Assert.Equal("help@domain.local", mime.ReplyTo.ToString());
        Assert.Empty(mime.Bcc);
        Assert.DoesNotContain("Bcc:", received.RawText);
        Assert.DoesNotContain("archive@domain.local", received.RawText);
        Assert.DoesNotContain("userId", received.RawText);
        Assert.Equal("Test message", mime.Subject);
        Assert.Equal("welcome", mime.Headers["X-Campaign"]);
        Assert.NotEqual(default, mime.Date);
        Assert.Contains("It's a simple message.", mime.TextBody!);
        Assert.Contains("cid:logo@domain.local", mime.HtmlBody);
        var attachment = (MimeKit.MimePart)mime.Attachments.Single(a => a.ContentDisposition?.FileName == "hello.txt");
        using var decoded = new MemoryStream();
        attachment.Content!.DecodeTo(decoded);
        Assert.Equal("Hi!", Encoding.UTF8.GetString(decoded.ToArray()));
        Assert.Contains(mime.BodyParts, p => p.ContentId == "logo@domain.local");
    }

    [Fact]
    public async Task A_recipient_rejected_with_550_leaves_the_others_sent_as_partially_sent()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        relay.RejectRecipient("gone@domain.local");
        using var factory = new MailApiFactory(relay.Port);

        var (client, id) = await SendAsync(factory, Bodies.Valid("student@domain.local", "gone@domain.local"));
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, "partially_sent", "sent", "failed");

        Assert.Equal("partially_sent", (string?)message["status"]);
        var gone = message["recipients"]!.AsArray().Single(r => (string?)r!["address"] == "gone@domain.local")!;
        Assert.Equal("rejected", (string?)gone["status"]);
        Assert.Equal(550, (int)gone["reply"]!["code"]!);
        Assert.Equal("5.1.1", (string?)gone["reply"]!["enhancedCode"]);
        Assert.Equal(["student@domain.local"], Assert.Single(relay.Messages).Recipients);
        Assert.Single(message["attempts"]!.AsArray());
    }

    [Fact]
    public async Task Every_recipient_rejected_is_failed_and_no_data_is_sent()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        relay.RejectRecipient("gone@domain.local");
        relay.RejectRecipient("lost@domain.local");
        using var factory = new MailApiFactory(relay.Port);

        var (client, id) = await SendAsync(factory, Bodies.Valid("gone@domain.local", "lost@domain.local"));
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, "failed", "sent", "partially_sent");

        Assert.Equal("failed", (string?)message["status"]);
        Assert.DoesNotContain(Steps(Transcript(message)), s => s.Command == "DATA");
        Assert.Empty(relay.Messages);
        Assert.Null(message["nextAttemptAt"]);
    }

    [Fact]
    public async Task A_450_recipient_is_deferred_then_accepted_on_the_retry_which_offers_it_alone()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        relay.DeferRecipient("busy@domain.local", times: 1);
        using var factory = new MailApiFactory(relay.Port);

        var (client, id) = await SendAsync(factory, Bodies.Valid("student@domain.local", "busy@domain.local"));
        var deferred = await MailApiFactory.WaitForStatusAsync(client, id, Patience, "deferred", "sent");
        Assert.Equal("deferred", (string?)deferred["status"]);
        Assert.NotNull(deferred["nextAttemptAt"]);
        var busy = deferred["recipients"]!.AsArray().Single(r => (string?)r!["address"] == "busy@domain.local")!;
        Assert.Equal("deferred", (string?)busy["status"]);
        Assert.Equal(450, (int)busy["reply"]!["code"]!);

        var sent = await MailApiFactory.WaitForStatusAsync(client, id, Patience, "sent", "failed", "partially_sent");

        Assert.Equal("sent", (string?)sent["status"]);
        Assert.Equal(2, sent["attempts"]!.AsArray().Count);
        Assert.DoesNotContain(Steps(Transcript(sent, 1)), s => s.Command == "RCPT TO:<student@domain.local>");
        var messages = await relay.WaitForMessagesAsync(2, Patience);
        Assert.Equal(["student@domain.local"], messages[0].Recipients);
        Assert.Equal(["busy@domain.local"], messages[1].Recipients);
        Assert.Equal(messages[1].QueueId, (string?)sent["queueId"]);
    }

    [Fact]
    public async Task A_421_greeting_defers_with_the_reply_recorded()
    {
        await using var relay = RawSmtpServer.GreetAndClose("421 4.3.2 Service not available, closing transmission channel");
        using var factory = new MailApiFactory(relay.Port, new Dictionary<string, string?> { ["Delivery:RetryDelays:0"] = "00:10:00" });

        var (client, id) = await SendAsync(factory, Bodies.Valid());
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, "deferred", "failed", "sent");

        Assert.Equal("deferred", (string?)message["status"]);
        Assert.NotNull(message["nextAttemptAt"]);
        var greeting = Transcript(message)[0]!;
        Assert.Null((string?)greeting["command"]);
        Assert.Equal(421, (int)greeting["reply"]!["code"]!);
        Assert.Equal("4.3.2", (string?)greeting["reply"]!["enhancedCode"]);
        Assert.NotNull((string?)message["attempts"]![0]!["error"]);
        Assert.Equal("pending", (string?)message["recipients"]![0]!["status"]);
    }

    [Fact]
    public async Task Connection_refused_defers_and_the_retry_delivers_once_the_relay_is_up()
    {
        var port = FreePort.Get();
        using var factory = new MailApiFactory(port, new Dictionary<string, string?> { ["Delivery:RetryDelays:0"] = "00:00:02" });

        var (client, id) = await SendAsync(factory, Bodies.Valid());
        var deferred = await MailApiFactory.WaitForStatusAsync(client, id, Patience, "deferred", "sent");
        Assert.Equal("deferred", (string?)deferred["status"]);
        Assert.Contains("connect", (string?)deferred["attempts"]![0]!["error"], StringComparison.OrdinalIgnoreCase);
        Assert.Empty(Transcript(deferred));

        await using var relay = await TestSmtpServer.StartAsync(new TestSmtpServerOptions { Port = port });
        var sent = await MailApiFactory.WaitForStatusAsync(client, id, Patience, "sent", "failed");

        Assert.Equal("sent", (string?)sent["status"]);
        Assert.Equal(2, sent["attempts"]!.AsArray().Count);
        Assert.Single(relay.Messages);
    }

    [Fact]
    public async Task A_554_after_data_fails_after_one_attempt()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        relay.FinalReply(554, "5.7.1 Message rejected: spam");
        using var factory = new MailApiFactory(relay.Port);

        var (client, id) = await SendAsync(factory, Bodies.Valid());
        await MailApiFactory.WaitForStatusAsync(client, id, Patience, "failed", "sent", "deferred");
        await factory.WaitUntilIdleAsync(Patience); // no attempt runs or is planned: a retry would have shown

        var message = (await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{id}"))!;
        Assert.Equal("failed", (string?)message["status"]);
        Assert.Single(message["attempts"]!.AsArray());
        Assert.Equal(554, (int)message["finalReply"]!["code"]!);
        Assert.Null((string?)message["queueId"]);
        Assert.Equal("rejected", (string?)message["recipients"]![0]!["status"]);
        Assert.Single(relay.RejectedMessages);
        Assert.Equal(1, relay.ConnectionCount);
    }

    [Fact]
    public async Task Auth_succeeds_with_the_configured_credentials_and_the_secret_never_appears()
    {
        const string password = "s3cret-Passw0rd";
        await using var relay = await TestSmtpServer.StartAsync(new TestSmtpServerOptions { User = "mailer", Password = password, RequireAuth = true });
        using var factory = new MailApiFactory(relay.Port, new Dictionary<string, string?>
        {
            ["Smtp:Username"] = "mailer",
            ["Smtp:Password"] = password,
            ["Smtp:Security"] = "None",
        });

        var (client, id) = await SendAsync(factory, Bodies.Valid());
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, "sent", "failed", "deferred");

        Assert.Equal("sent", (string?)message["status"]);
        Assert.Equal("mailer", Assert.Single(relay.Messages).AuthenticatedUser);
        var auth = Transcript(message).Single(e => ((string?)e!["command"])?.StartsWith("AUTH") == true)!;
        Assert.Matches("^AUTH (LOGIN|PLAIN) \\*\\*\\*$", (string?)auth["command"]);
        Assert.Equal(235, (int)auth["reply"]!["code"]!);
        var json = message.ToJsonString();
        Assert.DoesNotContain(password, json);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes(password)), json);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes("\0mailer\0" + password)), json);

        // Nor in the logs, at any level: no password, no API key, no message body.
        var logs = string.Join("\n", factory.Logs.Lines);
        Assert.Contains(id, logs);
        Assert.DoesNotContain(password, logs);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes(password)), logs);
        Assert.DoesNotContain(MailApiFactory.AlphaKey, logs);
        Assert.DoesNotContain("It's a simple message", logs);
    }

    [Fact]
    public async Task Auth_refused_with_535_defers_with_the_reply_recorded()
    {
        await using var relay = await TestSmtpServer.StartAsync(new TestSmtpServerOptions { User = "mailer", Password = "right" });
        using var factory = new MailApiFactory(relay.Port, new Dictionary<string, string?>
        {
            ["Smtp:Username"] = "mailer",
            ["Smtp:Password"] = "wrong",
            ["Smtp:Security"] = "None",
            ["Delivery:RetryDelays:0"] = "00:10:00",
        });

        var (client, id) = await SendAsync(factory, Bodies.Valid());
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, "deferred", "failed", "sent");

        Assert.Equal("deferred", (string?)message["status"]);
        var auth = Transcript(message).Last(e => ((string?)e!["command"])?.StartsWith("AUTH") == true)!;
        Assert.Equal(535, (int)auth["reply"]!["code"]!);
        Assert.Contains("credentials", (string?)message["attempts"]![0]!["error"]);
        Assert.Empty(relay.Messages);
    }

    [Fact]
    public async Task StartTls_required_but_not_offered_defers_without_sending()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        using var factory = new MailApiFactory(relay.Port, new Dictionary<string, string?>
        {
            ["Smtp:Security"] = "StartTls",
            ["Delivery:RetryDelays:0"] = "00:10:00",
        });

        var (client, id) = await SendAsync(factory, Bodies.Valid());
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, "deferred", "failed", "sent");

        Assert.Equal("deferred", (string?)message["status"]);
        Assert.Contains("STARTTLS", (string?)message["attempts"]![0]!["error"]);
        Assert.DoesNotContain(Steps(Transcript(message)), s => s.Command?.StartsWith("MAIL") == true);
        Assert.Empty(relay.Messages);
    }

    [Fact]
    public async Task StartTls_and_auth_show_ehlo_again_after_the_handshake()
    {
        await using var relay = await TestSmtpServer.StartAsync(new TestSmtpServerOptions
        {
            StartTls = true,
            User = "mailer",
            Password = "pw",
            AllowAuthWithoutTls = false,
        });
        using var factory = new MailApiFactory(relay.Port, new Dictionary<string, string?>
        {
            ["Smtp:Security"] = "StartTls",
            ["Smtp:Username"] = "mailer",
            ["Smtp:Password"] = "pw",
        });

        var (client, id) = await SendAsync(factory, Bodies.Valid());
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, "sent", "failed", "deferred");

        Assert.Equal("sent", (string?)message["status"]);
        Assert.True(Assert.Single(relay.Messages).Secure);
        var commands = Steps(Transcript(message)).Select(s => s.Command?.Split(' ')[0]).ToList();
        Assert.Equal([null, "EHLO", "STARTTLS", "EHLO", "AUTH", "MAIL", "RCPT", "DATA", "."], commands);
    }

    [Fact]
    public async Task Smuggling_attempt_in_the_body_arrives_as_one_message_with_the_text_intact()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        using var factory = new MailApiFactory(relay.Port);
        var body = Bodies.Valid();
        body["text"] = "first line\n.\r\nMAIL FROM:<x@y>\r\nRCPT TO:<victim@domain.local>\rlast line";

        var (client, id) = await SendAsync(factory, body);
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, "sent", "failed", "deferred");

        Assert.Equal("sent", (string?)message["status"]);
        // The relay kept the copy before it said 250, and the whole body is in that one copy.
        var received = Assert.Single(relay.Messages);
        Assert.Equal(["student@domain.local"], received.Recipients);
        Assert.Equal(
            "first line\n.\nMAIL FROM:<x@y>\nRCPT TO:<victim@domain.local>\nlast line",
            received.Message.TextBody!.Replace("\r\n", "\n").TrimEnd('\n'));
        // Every line end on the wire is CRLF: no bare CR or LF reached the relay.
        var raw = received.RawText;
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] == '\n')
            {
                Assert.Equal('\r', raw[i - 1]);
            }

            if (raw[i] == '\r')
            {
                Assert.Equal('\n', raw[i + 1]);
            }
        }
    }
}
