using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using MailApi.Testing;
using MailApi.Tests.Infrastructure;
using static MailApi.Tests.Delivery.RelayDialogue;

namespace MailApi.Tests.Delivery.Dkim;

/// <summary>
/// DKIM signatures checked independently of MimeKit, by Debian's python3-dkim (dkimpy) given the public key directly
/// (no DNS), on the copy the relay received: an in-process server's, and the one Postfix stored in its Maildir.
/// </summary>
public sealed class DkimTests
{
    private const string Selector = "mail2026";

    /// <summary>dkimpy's verdict on a message, reading the public key from the TXT record we hand it.</summary>
    private const string Verifier = """
        import sys, dkim
        raw = open(sys.argv[1], 'rb').read()
        record = ('v=DKIM1; k=rsa; p=' + sys.argv[2]).encode()
        def dns(name, timeout=5):
            return record if name.decode().rstrip('.') == sys.argv[3] else None
        ok = dkim.verify(raw, dnsfunc=dns)
        print('verified' if ok else 'not verified')
        sys.exit(0 if ok else 1)
        """;

    /// <summary>Debian's Python, where apt puts python3-dkim (a python3 earlier on PATH, say pyenv's, would not see it).</summary>
    private static readonly string Python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    private static (string Output, int Exit) Verify(byte[] raw, RSA key, string domain)
    {
        using (var check = Process.Start(new ProcessStartInfo(Python, ["-c", "import dkim"]) { RedirectStandardError = true })!)
        {
            check.StandardError.ReadToEnd();
            check.WaitForExit();
            if (check.ExitCode != 0)
            {
                Assert.Skip($"python3-dkim is missing for {Python}: `apt-get install -y python3-dkim` (Debian's dkimpy), which .ci/run installs.");
            }
        }
        var file = Path.GetTempFileName();
        File.WriteAllBytes(file, raw);
        try
        {
            var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var argument in new[] { "-c", Verifier, file, Convert.ToBase64String(key.ExportSubjectPublicKeyInfo()), $"{Selector}._domainkey.{domain}" })
            {
                start.ArgumentList.Add(argument);
            }
            using var python = Process.Start(start)!;
            var output = python.StandardOutput.ReadToEnd() + python.StandardError.ReadToEnd();
            python.WaitForExit();
            return (output.Trim(), python.ExitCode);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>A message with every header DKIM signs here, non-ASCII text (8bit), HTML and an attachment.</summary>
    private static JsonObject Rich()
    {
        var body = Bodies.Valid("student@domain.local");
        body["cc"] = new JsonArray("Teacher <teacher@domain.local>");
        body["replyTo"] = new JsonArray("office@domain.local");
        body["subject"] = "Grüße from the DKIM test – ünïcödé";
        body["text"] = "Grüße,\nthis line is long enough to be folded by nobody but kept whole: " + new string('x', 200) + "\n\n.leading dot\nZotrim";
        body["html"] = "<p>Grüße, <b>Zotrim</b></p>";
        body["attachments"] = new JsonArray(new JsonObject { ["filename"] = "notes.txt", ["content"] = Convert.ToBase64String(Encoding.UTF8.GetBytes("a\nb\n")) });
        return body;
    }

    private static Dictionary<string, string?> KeySettings(string pemOrPath, bool isPath) => new()
    {
        ["Dkim:Keys:0:Domain"] = "domain.local",
        ["Dkim:Keys:0:Selector"] = Selector,
        [isPath ? "Dkim:Keys:0:PrivateKeyPath" : "Dkim:Keys:0:PrivateKey"] = pemOrPath,
    };

    private static string SignedHeaders(string raw)
    {
        var start = raw.IndexOf("DKIM-Signature:", StringComparison.Ordinal);
        Assert.True(start >= 0, "no DKIM-Signature header");
        var header = raw[start..raw.IndexOf("\n", raw.IndexOf("h=", start, StringComparison.Ordinal), StringComparison.Ordinal)];
        var h = header[(header.IndexOf("h=", StringComparison.Ordinal) + 2)..];
        return h[..h.IndexOf(';', StringComparison.Ordinal)].Replace("\r", "").Replace("\n", "").Replace(" ", "").Replace("\t", "");
    }

    [Fact]
    public async Task A_message_from_a_domain_with_a_key_verifies_with_python3_dkim_on_the_copy_the_relay_received()
    {
        using var key = RSA.Create(2048);
        await using var relay = await TestSmtpServer.StartAsync();
        using var factory = new MailApiFactory(relay.Port, KeySettings(key.ExportRSAPrivateKeyPem(), isPath: false));

        var (client, id) = await SendAsync(factory, Rich());
        Assert.Equal("sent", (string?)(await MailApiFactory.WaitForStatusAsync(client, id, Patience, AfterAnAttempt))["status"]);

        var received = Assert.Single(relay.Messages);
        Assert.Equal(("verified", 0), Verify(received.Raw, key, "domain.local"));
        Assert.Contains("a=rsa-sha256", received.RawText);
        Assert.Contains("c=relaxed/relaxed", received.RawText);
        Assert.Contains($"s={Selector}", received.RawText);
        Assert.Equal(["cc", "content-type", "date", "from", "message-id", "mime-version", "reply-to", "subject", "to"],
            SignedHeaders(received.RawText).ToLowerInvariant().Split(':').Order());

        // The check can fail: the same copy with one changed byte in the body does not verify.
        var tampered = Encoding.UTF8.GetBytes(received.RawText.Replace("Zotrim</b>", "Zotrím</b>"));
        Assert.Equal(1, Verify(tampered, key, "domain.local").Exit);
    }

    [Fact]
    public async Task A_relay_without_8bitmime_gets_the_message_in_7bit_signed_as_it_went_out()
    {
        using var key = RSA.Create(2048);
        await using var relay = RawSmtpServer.Dialogue(line => line.StartsWith("EHLO", StringComparison.OrdinalIgnoreCase)
            ? "250-raw.localhost\r\n250 ENHANCEDSTATUSCODES"
            : RawSmtpServer.DefaultAnswer(line));
        using var factory = new MailApiFactory(relay.Port, KeySettings(key.ExportRSAPrivateKeyPem(), isPath: false));

        var (client, id) = await SendAsync(factory, Rich());
        Assert.Equal("sent", (string?)(await MailApiFactory.WaitForStatusAsync(client, id, Patience, AfterAnAttempt))["status"]);

        var raw = Data(relay);
        Assert.DoesNotContain(raw, c => c > 127);
        Assert.Contains("quoted-printable", raw, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(("verified", 0), Verify(Encoding.ASCII.GetBytes(raw), key, "domain.local"));
    }

    [Fact]
    public async Task A_message_with_utf8_headers_to_a_relay_with_smtputf8_verifies_as_sent()
    {
        using var key = RSA.Create(2048);
        await using var relay = RawSmtpServer.Dialogue(line => line.StartsWith("EHLO", StringComparison.OrdinalIgnoreCase)
            ? RawSmtpServer.DefaultAnswer(line).Replace("250 ENHANCEDSTATUSCODES", "250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES", StringComparison.Ordinal)
            : RawSmtpServer.DefaultAnswer(line));
        using var factory = new MailApiFactory(relay.Port, KeySettings(key.ExportRSAPrivateKeyPem(), isPath: false));
        var body = Rich();
        body["from"] = "Jörg Müller <jörg@domain.local>";

        var (client, id) = await SendAsync(factory, body);
        Assert.Equal("sent", (string?)(await MailApiFactory.WaitForStatusAsync(client, id, Patience, AfterAnAttempt))["status"]);

        var raw = Data(relay);
        Assert.Contains("From: Jörg Müller <jörg@domain.local>", raw);
        Assert.Contains(relay.ReceivedLines, l => l.StartsWith("MAIL FROM:<jörg@domain.local>", StringComparison.Ordinal) && l.Contains("SMTPUTF8"));
        Assert.Equal(("verified", 0), Verify(Encoding.UTF8.GetBytes(raw), key, "domain.local"));
    }

    /// <summary>The DATA as <paramref name="relay"/> read it: the lines after DATA up to the final dot, dot-stuffing undone.</summary>
    private static string Data(RawSmtpServer relay)
    {
        var lines = relay.ReceivedLines.SkipWhile(l => l != "DATA").Skip(1).TakeWhile(l => l != ".")
            .Select(l => l.StartsWith("..", StringComparison.Ordinal) ? l[1..] : l);
        return string.Join("\r\n", lines) + "\r\n";
    }

    [Fact]
    public async Task A_message_from_a_domain_without_a_key_is_sent_unsigned()
    {
        using var key = RSA.Create(2048);
        await using var relay = await TestSmtpServer.StartAsync();
        var settings = KeySettings(key.ExportRSAPrivateKeyPem(), isPath: false);
        settings["Dkim:Keys:0:Domain"] = "other.local";
        using var factory = new MailApiFactory(relay.Port, settings);

        var (client, id) = await SendAsync(factory, Bodies.Valid());
        Assert.Equal("sent", (string?)(await MailApiFactory.WaitForStatusAsync(client, id, Patience, AfterAnAttempt))["status"]);

        Assert.DoesNotContain("DKIM-Signature:", Assert.Single(relay.Messages).RawText, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_copy_postfix_stored_verifies_with_python3_dkim_signed_with_a_pkcs8_key_from_a_file()
    {
        var postfix = PostfixRelay.Require();
        using var key = RSA.Create(2048);
        var path = Path.GetTempFileName();
        await File.WriteAllTextAsync(path, key.ExportPkcs8PrivateKeyPem());
        try
        {
            var settings = KeySettings(path, isPath: true);
            settings["Smtp:Security"] = "StartTls";
            settings["Smtp:Username"] = postfix.User;
            settings["Smtp:Password"] = postfix.Password;
            settings["Smtp:Timeout"] = "00:00:10";
            using var factory = new MailApiFactory(postfix.Port, settings);

            var (client, id) = await SendAsync(factory, Rich());
            var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, AfterAnAttempt);
            Assert.Equal("sent", (string?)message["status"]);

            var copies = await PostfixRelay.WaitForCopiesAsync(postfix.Maildir, (string)message["messageId"]!, 2, Patience);
            var copy = Assert.Single(copies, c => c.DeliveredTo == "student@domain.local");
            // The Maildir keeps lines with LF; on the wire, as signed, they ended with CRLF.
            var wire = Encoding.UTF8.GetBytes(copy.Text.Replace("\r\n", "\n").Replace("\n", "\r\n"));
            Assert.Contains("Received:", copy.Text);
            Assert.Equal(("verified", 0), Verify(wire, key, "domain.local"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_key_that_cannot_be_read_stops_the_start_naming_the_key()
    {
        using var factory = new MailApiFactory(25, KeySettings("/nonexistent/dkim.pem", isPath: true));

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient()).ToString();

        Assert.Contains("Dkim:Keys:0:PrivateKeyPath '/nonexistent/dkim.pem' cannot be read", error);
    }
}
