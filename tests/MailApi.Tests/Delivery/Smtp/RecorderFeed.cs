using System.Text;
using MailApi.Delivery.Smtp;

namespace MailApi.Tests.Delivery.Smtp;

/// <summary>Feeds a <see cref="TranscriptRecorder"/> canned bytes the way MailKit does, and names what no transcript may hold.</summary>
internal static class RecorderFeed
{
    public const string User = "zotrim@domain.local";
    public const string Password = "s3cr3t-P4ss";
    public static readonly string UserBase64 = Convert.ToBase64String(Encoding.ASCII.GetBytes(User));
    public static readonly string PasswordBase64 = Convert.ToBase64String(Encoding.ASCII.GetBytes(Password));
    public static readonly string PlainBase64 = Convert.ToBase64String(Encoding.ASCII.GetBytes("\0" + User + "\0" + Password));

    public static readonly Uri Upstream = new("smtp://smtp.domain.local:587");

    // A slice of a larger buffer, as MailKit passes it, so offsets matter.
    public static void Client(TranscriptRecorder recorder, string chunk)
    {
        var bytes = Encoding.ASCII.GetBytes("##" + chunk + "##");
        recorder.LogClient(bytes, 2, bytes.Length - 4);
    }

    public static void Server(TranscriptRecorder recorder, string chunk)
    {
        var bytes = Encoding.ASCII.GetBytes("##" + chunk + "##");
        recorder.LogServer(bytes, 2, bytes.Length - 4);
    }

    public static TranscriptEntry E(string? command, int code, string? enhanced, string text) =>
        new(command, new SmtpReply(code, enhanced, text));

    /// <summary>Neither the credentials (plain or base64), nor the SASL challenges, nor any of the message content.</summary>
    public static void AssertNoSecrets(IEnumerable<TranscriptEntry> entries)
    {
        var all = string.Join("\n", entries.Select(e => $"{e.Command}|{e.Reply?.Text}"));
        string[] secrets = [Password, PasswordBase64, UserBase64, PlainBase64, PasswordBase64[..5], "secret", "hidden", "Subject", "VXNlcm5hbWU6", "UGFzc3dvcmQ6"];
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, all, StringComparison.OrdinalIgnoreCase);
        }
    }

    /// <summary>A message whose subject and body say "secret", with a dot line and a dot-stuffed line, longer than one write.</summary>
    public static MimeKit.MimeMessage SecretMessage()
    {
        var message = new MimeKit.MimeMessage();
        message.From.Add(MimeKit.MailboxAddress.Parse("Zotrim <zotrim@domain.local>"));
        message.To.Add(MimeKit.MailboxAddress.Parse("student@domain.local"));
        message.Cc.Add(MimeKit.MailboxAddress.Parse("other@domain.local"));
        message.Subject = "Top secret plans";
        message.Body = new MimeKit.TextPart("plain")
        {
            Text = "secret line one\r\n.\r\n..hidden dotted line\r\n" + string.Concat(Enumerable.Repeat("secret filler line\r\n", 500)),
        };
        return message;
    }
}
