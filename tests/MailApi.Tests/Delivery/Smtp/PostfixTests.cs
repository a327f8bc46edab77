using System.Text;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;
using static MailApi.Tests.Delivery.RelayDialogue;

namespace MailApi.Tests.Delivery.Smtp;

/// <summary>
/// The tutorial's dialogues against a real Postfix (tests/relays/postfix.sh): POST → Hangfire job → MailKit →
/// Postfix on 127.0.0.1 with STARTTLS and SASL → its Maildir and its log. Skipped, saying how to start it,
/// when that Postfix is not running; .ci/run starts it and fails on any skip.
/// </summary>
[Trait("Category", PostfixRelay.Category)]
public sealed class PostfixTests
{
    private static readonly TimeSpan Delivery = TimeSpan.FromSeconds(20);

    private static MailApiFactory Factory(PostfixRelay postfix, int? port = null, IDictionary<string, string?>? changes = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Smtp:Security"] = "StartTls",
            ["Smtp:AcceptAnyCertificate"] = "true", // the snakeoil certificate is self-signed
            ["Smtp:Username"] = postfix.User,
            ["Smtp:Password"] = postfix.Password,
            ["Smtp:MessageIdDomain"] = "domain.local",
            ["Smtp:Timeout"] = "00:00:10",
            // One connection per message, QUIT after it: the tutorial's dialogue, whole, in each attempt's transcript
            // (where connection reuse exists, Smtp:Pool; the key is ignored where it does not).
            ["Smtp:Pool:Enabled"] = "false",
        };
        foreach (var (key, value) in changes ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        return new MailApiFactory(port ?? postfix.Port, settings);
    }

    /// <summary>Neither the password nor any base64 form of it (alone, AUTH LOGIN's, AUTH PLAIN's) appears.</summary>
    private static void AssertNoSecret(PostfixRelay postfix, JsonObject message)
    {
        var json = message.ToJsonString();
        Assert.DoesNotContain(postfix.Password, json);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes(postfix.Password)), json);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes(postfix.User)), json);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{postfix.User}\0{postfix.Password}")), json);
        // No SASL challenge recorded (looked up by reply code: "334" alone also turns up inside timestamps).
        Assert.DoesNotContain(message["attempts"]!.AsArray().SelectMany(a => a!["transcript"]!.AsArray()),
            e => (int?)e!["reply"]?["code"] == 334);
        Assert.DoesNotContain("VXNlcm5hbWU6", json); // base64 "Username:", the LOGIN challenge
    }

    private static void AssertHeaders(MaildirCopy copy, JsonObject message, string from, string to, string subject)
    {
        var mime = copy.Message;
        Assert.Equal((string?)message["messageId"], $"<{mime.MessageId}>");
        Assert.Equal(from, mime.From.ToString());
        Assert.Equal(to, mime.To.ToString());
        Assert.Equal(subject, mime.Subject);
        Assert.Single(mime.Headers, h => h.Id == MimeKit.HeaderId.Date);
        Assert.Single(mime.Headers, h => h.Id == MimeKit.HeaderId.MessageId);
        var createdAt = DateTimeOffset.Parse((string)message["createdAt"]!);
        Assert.InRange(mime.Date, createdAt.AddMinutes(-1), createdAt.AddMinutes(1)); // ours, not one Postfix added later
        Assert.Empty(mime.Bcc);
        Assert.DoesNotContain("\nBcc:", copy.Text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Tutorial_1_1_local_delivery_over_starttls_and_auth_plain()
    {
        var postfix = PostfixRelay.Require();
        using var factory = Factory(postfix);
        var body = Bodies.Valid("student@domain.local");
        body["bcc"] = new JsonArray("archive@domain.local");

        var (client, id) = await SendAsync(factory, body);
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, "sent", "partially_sent", "failed", "deferred");

        Assert.Equal("sent", (string?)message["status"]);
        Assert.Equal($"127.0.0.1:{postfix.Port}", (string?)message["upstream"]);
        var messageId = (string)message["messageId"]!;
        var queueId = (string?)message["queueId"];
        Assert.Matches("^[0-9A-F]{8,12}$", queueId);
        Assert.Equal(await postfix.LoggedQueueIdAsync(messageId, Delivery), queueId);
        Assert.Contains(postfix.LogLinesWith($"{queueId}: client="), l => l.Contains($"sasl_method=PLAIN, sasl_username={postfix.User}", StringComparison.Ordinal));

        var transcript = Transcript(message);
        Assert.Equal(
            [
                (null, 220, null), ("EHLO mailapi.test", 250, null), ("STARTTLS", 220, "2.0.0"), ("EHLO mailapi.test", 250, null),
                ("AUTH PLAIN ***", 235, "2.7.0"), ("MAIL FROM:<zotrim@domain.local>", 250, "2.1.0"),
                ("RCPT TO:<student@domain.local>", 250, "2.1.5"), ("RCPT TO:<archive@domain.local>", 250, "2.1.5"),
                ("DATA", 354, null), (".", 250, "2.0.0"), ("QUIT", 221, "2.0.0"),
            ],
            Steps(transcript));
        Assert.Equal("profbox.domain.local ESMTP Postfix", (string?)transcript[0]!["reply"]!["text"]);
        Assert.Contains("AUTH PLAIN LOGIN", (string?)transcript[3]!["reply"]!["text"]);
        Assert.Equal($"Ok: queued as {queueId}", (string?)transcript[9]!["reply"]!["text"]);
        Assert.Equal("Authentication successful", (string?)transcript[4]!["reply"]!["text"]);
        AssertNoSecret(postfix, message);

        var copies = await PostfixRelay.WaitForCopiesAsync(postfix.Maildir, messageId, 2, Delivery);
        Assert.Equal(["archive@domain.local", "student@domain.local"], copies.Select(c => c.DeliveredTo).Order());
        foreach (var copy in copies)
        {
            AssertHeaders(copy, message, "\"Zotrim\" <zotrim@domain.local>", "student@domain.local", "Test message");
            Assert.DoesNotContain("archive@domain.local", copy.Text[copy.Text.IndexOf("\nMessage-ID:", StringComparison.OrdinalIgnoreCase)..]);
            Assert.Contains($"with ESMTPSA id {queueId}", copy.Text);
            Assert.Contains("It's a simple message.", copy.Message.TextBody);
        }
    }

    [Fact]
    public async Task Tutorial_1_2_authenticated_relay_with_auth_login_to_two_outside_recipients()
    {
        var postfix = PostfixRelay.Require();
        // The second listener offers AUTH LOGIN only: the tutorial's exchange (334 VXNlcm5hbWU6 …).
        using var factory = Factory(postfix, postfix.LoginPort);
        var body = new JsonObject
        {
            ["from"] = "Zotrim <zotrim.uka@students.hevs.ch>",
            ["to"] = new JsonArray("Zotrim Uka <rreplay10@gmail.com>", "David Russo <davidbackoffice@gmail.com>"),
            ["subject"] = "63-11 Async",
            ["text"] = "Test mail SMTP",
        };

        var (client, id) = await SendAsync(factory, body, MailApiFactory.BetaKey);
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, "sent", "partially_sent", "failed", "deferred");

        Assert.Equal("sent", (string?)message["status"]);
        var messageId = (string)message["messageId"]!;
        Assert.EndsWith("@domain.local>", messageId);
        var queueId = (string?)message["queueId"];
        Assert.NotNull(queueId);
        Assert.Equal(await postfix.LoggedQueueIdAsync(messageId, Delivery), queueId);
        Assert.Contains(postfix.LogLinesWith($"{queueId}: client="), l => l.Contains($"sasl_method=LOGIN, sasl_username={postfix.User}", StringComparison.Ordinal));

        var transcript = Transcript(message);
        TestContext.Current.TestOutputHelper?.WriteLine(transcript.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        Assert.Equal(
            [
                (null, 220, null), ("EHLO mailapi.test", 250, null), ("STARTTLS", 220, "2.0.0"), ("EHLO mailapi.test", 250, null),
                ("AUTH LOGIN ***", 235, "2.7.0"), ("MAIL FROM:<zotrim.uka@students.hevs.ch>", 250, "2.1.0"),
                ("RCPT TO:<rreplay10@gmail.com>", 250, "2.1.5"), ("RCPT TO:<davidbackoffice@gmail.com>", 250, "2.1.5"),
                ("DATA", 354, null), (".", 250, "2.0.0"), ("QUIT", 221, "2.0.0"),
            ],
            Steps(transcript));
        Assert.DoesNotContain("PLAIN", (string?)transcript[3]!["reply"]!["text"]);
        Assert.Equal($"Ok: queued as {queueId}", (string?)transcript[9]!["reply"]!["text"]);
        Assert.All(message["recipients"]!.AsArray(), r => Assert.Equal("accepted", (string?)r!["status"]));
        AssertNoSecret(postfix, message);

        // "Outside" recipients: Postfix relayed them to its local Maildir transport, not to the internet.
        var copies = await PostfixRelay.WaitForCopiesAsync(postfix.RelayedMaildir, messageId, 2, Delivery);
        Assert.Equal(["davidbackoffice@gmail.com", "rreplay10@gmail.com"], copies.Select(c => c.DeliveredTo).Order());
        foreach (var copy in copies)
        {
            AssertHeaders(copy, message, "\"Zotrim\" <zotrim.uka@students.hevs.ch>",
                "\"Zotrim Uka\" <rreplay10@gmail.com>, \"David Russo\" <davidbackoffice@gmail.com>", "63-11 Async");
            Assert.Contains($"with ESMTPSA id {queueId}", copy.Text);
            Assert.Contains("Test mail SMTP", copy.Message.TextBody);
        }
        Assert.All(postfix.LogLinesWith($"{queueId}: to=<"), l => Assert.Contains("relay=maildir", l));
        Assert.Equal(2, postfix.LogLinesWith($"{queueId}: to=<").Count(l => l.Contains("status=sent", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Unknown_local_recipient_gets_postfixs_550_5_1_1_and_the_other_is_delivered_once()
    {
        var postfix = PostfixRelay.Require();
        using var factory = Factory(postfix);

        var (client, id) = await SendAsync(factory, Bodies.Valid("student@domain.local", "gone@domain.local"));
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, "partially_sent", "sent", "failed", "deferred");

        Assert.Equal("partially_sent", (string?)message["status"]);
        var gone = Recipient(message, "gone@domain.local");
        Assert.Equal("rejected", (string?)gone["status"]);
        Assert.Equal(550, (int)gone["reply"]!["code"]!);
        Assert.Equal("5.1.1", (string?)gone["reply"]!["enhancedCode"]);
        Assert.Contains("User unknown in local recipient table", (string?)gone["reply"]!["text"]);
        Assert.Equal("accepted", (string?)Recipient(message, "student@domain.local")["status"]);
        Assert.Equal(250, (int)Entry(Transcript(message), ".")["reply"]!["code"]!);

        var messageId = (string)message["messageId"]!;
        var copies = await PostfixRelay.WaitForCopiesAsync(postfix.Maildir, messageId, 1, Delivery);
        Assert.Equal("student@domain.local", Assert.Single(copies).DeliveredTo);
        await AssertNoFurtherAttemptAsync(factory, client, id, 1);
    }

    [Fact]
    public async Task Recipient_deferred_with_450_is_retried_alone_and_the_other_is_delivered_once()
    {
        var postfix = PostfixRelay.Require();
        using var factory = Factory(postfix);

        var (client, id) = await SendAsync(factory, Bodies.Valid("student@domain.local", "busy@domain.local"));
        var first = await MailApiFactory.WaitForStatusAsync(client, id, Patience, "deferred", "sent", "partially_sent", "failed");

        Assert.Equal("deferred", (string?)first["status"]);
        Assert.NotNull(first["nextAttemptAt"]);
        var busy = Recipient(first, "busy@domain.local");
        Assert.Equal("deferred", (string?)busy["status"]);
        Assert.Equal(450, (int)busy["reply"]!["code"]!);
        Assert.Equal("4.2.0", (string?)busy["reply"]!["enhancedCode"]);
        Assert.Equal("accepted", (string?)Recipient(first, "student@domain.local")["status"]);

        // Postfix defers busy@ every time: each retry offers it alone, and after the last one the message rests.
        var last = await WaitForAttemptsAsync(client, id, 4, "partially_sent", "failed", "sent");
        Assert.Equal("partially_sent", (string?)last["status"]);
        Assert.Equal(4, Attempts(last).Count); // the first and one retry per Delivery:RetryDelays entry (three)
        var givenUp = last["recipients"]!.AsArray().Single(r => (string?)r!["address"] == "busy@domain.local")!;
        Assert.Equal("rejected", (string?)givenUp["status"]); // no attempt is left for it; its last reply stays
        Assert.Equal(450, (int)givenUp["reply"]!["code"]!);
        for (var i = 1; i < 4; i++)
        {
            var steps = Steps(Transcript(last, i));
            Assert.Contains(("RCPT TO:<busy@domain.local>", 450, "4.2.0"), steps);
            Assert.DoesNotContain(steps, s => s.Command == "RCPT TO:<student@domain.local>" || s.Command == "DATA");
        }
        var copies = await PostfixRelay.WaitForCopiesAsync(postfix.Maildir, (string)last["messageId"]!, 1, Delivery);
        Assert.Equal("student@domain.local", Assert.Single(copies).DeliveredTo);
        Assert.Equal(await postfix.LoggedQueueIdAsync((string)last["messageId"]!, Delivery), (string?)last["queueId"]);
    }

    [Fact]
    public async Task Relay_without_credentials_gets_554_5_7_1_relay_access_denied_and_fails_without_retry()
    {
        var postfix = PostfixRelay.Require();
        using var factory = Factory(postfix, changes: new Dictionary<string, string?> { ["Smtp:Username"] = "", ["Smtp:Password"] = "" });
        var body = Bodies.Valid("rreplay10@gmail.com");

        var (client, id) = await SendAsync(factory, body);
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, "failed", "sent", "deferred", "partially_sent");

        Assert.Equal("failed", (string?)message["status"]);
        var steps = Steps(Transcript(message));
        Assert.DoesNotContain(steps, s => s.Command?.StartsWith("AUTH", StringComparison.Ordinal) == true);
        Assert.DoesNotContain(steps, s => s.Command == "DATA");
        var rcpt = Entry(Transcript(message), "RCPT TO:<rreplay10@gmail.com>")["reply"]!;
        Assert.Equal(554, (int)rcpt["code"]!);
        Assert.Equal("5.7.1", (string?)rcpt["enhancedCode"]);
        Assert.Equal("<rreplay10@gmail.com>: Relay access denied", (string?)rcpt["text"]);
        Assert.Equal("rejected", (string?)Recipient(message, "rreplay10@gmail.com")["status"]);
        Assert.Null(message["nextAttemptAt"]);
        Assert.Null((string?)message["queueId"]);
        await AssertNoFurtherAttemptAsync(factory, client, id, 1);
        Assert.Empty(PostfixRelay.Copies(postfix.RelayedMaildir, (string)message["messageId"]!));
        Assert.Null(await postfix.LoggedQueueIdAsync((string)message["messageId"]!, TimeSpan.Zero));
    }

    [Fact]
    public async Task Wrong_password_gets_535_and_defers_without_sending()
    {
        var postfix = PostfixRelay.Require();
        const string wrong = "not-the-password";
        using var factory = Factory(postfix, changes: new Dictionary<string, string?>
        {
            ["Smtp:Password"] = wrong,
            ["Delivery:RetryDelays:0"] = "00:10:00",
        });

        var (client, id) = await SendAsync(factory, Bodies.Valid("student@domain.local"));
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, "deferred", "failed", "sent");

        Assert.Equal("deferred", (string?)message["status"]);
        var auth = Entry(Transcript(message), "AUTH PLAIN ***")["reply"]!;
        Assert.Equal(535, (int)auth["code"]!);
        Assert.Equal("5.7.8", (string?)auth["enhancedCode"]);
        Assert.Contains("authentication failed", (string?)auth["text"]);
        Assert.Contains("credentials", Error(message));
        Assert.DoesNotContain(Steps(Transcript(message)), s => s.Command?.StartsWith("MAIL", StringComparison.Ordinal) == true);
        Assert.Equal("pending", (string?)Recipient(message, "student@domain.local")["status"]);
        var json = message.ToJsonString();
        Assert.DoesNotContain(wrong, json);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{postfix.User}\0{wrong}")), json);
    }

    [Fact]
    public async Task Untrusted_certificate_fails_the_tls_handshake_and_defers()
    {
        var postfix = PostfixRelay.Require();
        using var factory = Factory(postfix, changes: new Dictionary<string, string?>
        {
            ["Smtp:AcceptAnyCertificate"] = "false",
            ["Delivery:RetryDelays:0"] = "00:10:00",
        });

        var (client, id) = await SendAsync(factory, Bodies.Valid("student@domain.local"));
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, "deferred", "failed", "sent");

        Assert.Equal("deferred", (string?)message["status"]);
        Assert.Contains("TLS handshake", Error(message));
        Assert.Equal([(null, 220, null), ("EHLO mailapi.test", 250, null), ("STARTTLS", 220, "2.0.0")], Steps(Transcript(message)));
    }
}
