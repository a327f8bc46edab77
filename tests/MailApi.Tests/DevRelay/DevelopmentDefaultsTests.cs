using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;
using MimeKit;

namespace MailApi.Tests.DevRelay;

/// <summary>What `dotnet run` gives a newcomer: Development, the dev key, and the capture relay writing .eml files.</summary>
public sealed class DevelopmentDefaultsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mailapi-captured-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Dev_key_and_capture_relay_deliver_to_an_eml_file_named_by_the_queue_id()
    {
        using var factory = new MailApiFactory(smtpPort: 1, new Dictionary<string, string?>
        {
            // Only the relay's port and folder are set; everything else is the Development defaults.
            ["DevRelay:Port"] = FreePort.Get().ToString(),
            ["DevRelay:Folder"] = _folder,
        }, environment: "Development");
        var client = factory.ClientFor("mailapi-dev-key");
        var body = Bodies.Valid("student@domain.local");
        body["bcc"] = new JsonArray("archive@domain.local");

        var response = await client.PostAsJsonAsync("/v1/messages", body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
        var message = await MailApiFactory.WaitForStatusAsync(client, id, TimeSpan.FromSeconds(20), "sent", "failed", "deferred");

        Assert.Equal("sent", (string?)message["status"]);
        var queueId = (string)message["queueId"]!;
        Assert.Matches("^[0-9A-F]{10,12}$", queueId);
        var file = Path.Combine(_folder, queueId + ".eml");
        Assert.True(File.Exists(file), $"{file} was not written");
        var mime = await MimeMessage.LoadAsync(file);
        Assert.Equal($"<{mime.MessageId}>", (string?)message["messageId"]);
        Assert.Equal(("Zotrim", "zotrim@domain.local"), (mime.From.Mailboxes.Single().Name, mime.From.Mailboxes.Single().Address));
        Assert.Equal("student@domain.local", mime.To.ToString());
        Assert.Equal("Test message", mime.Subject);
        Assert.NotEqual(default, mime.Date);
        Assert.Empty(mime.Bcc);
        Assert.DoesNotContain("archive@domain.local", await File.ReadAllTextAsync(file));
        Assert.Equal("1.0", mime.MimeVersion!.ToString(2));
    }
}
