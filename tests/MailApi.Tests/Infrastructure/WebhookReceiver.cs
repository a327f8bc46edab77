using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using StandardWebhooks;
using WireMock;
using WireMock.Logging;
using WireMock.Server;
using WireMock.Settings;

namespace MailApi.Tests.Infrastructure;

/// <summary>A real HTTP receiver for webhooks: WireMock.Net on 127.0.0.1, with what it received and a signature check.</summary>
public sealed class WebhookReceiver : IDisposable
{
    public WireMockServer Server { get; } = WireMockServer.Start(new WireMockServerSettings { Urls = [$"http://127.0.0.1:{FreePort.Get()}"] });

    public string Url(string path = "/hook") => Server.Urls![0] + path;

    /// <summary>The requests received on <paramref name="path"/>, in order of arrival.</summary>
    public IReadOnlyList<Received> Requests(string path = "/hook") =>
        [.. Server.LogEntries.Where(e => e.RequestMessage!.Path == path).OrderBy(e => e.RequestMessage!.DateTime).Select(e => new Received(e))];

    /// <summary>Waits until <paramref name="count"/> requests came to <paramref name="path"/>.</summary>
    public async Task<IReadOnlyList<Received>> WaitForAsync(int count, string path = "/hook", TimeSpan? timeout = null)
    {
        await Poll.UntilAsync(() => Requests(path).Count >= count, timeout ?? TimeSpan.FromSeconds(30), $"{count} request(s) at {path}");
        return Requests(path);
    }

    public void Dispose() => Server.Stop();

    /// <summary>One request as the receiver saw it.</summary>
    public sealed class Received(ILogEntry entry)
    {
        private IRequestMessage Request => entry.RequestMessage!;

        public DateTime At => Request.DateTime;

        public string Body => Request.Body ?? Encoding.UTF8.GetString(Request.BodyAsBytes ?? []);

        public JsonObject Json => JsonNode.Parse(Body)!.AsObject();

        public string? Header(string name) =>
            Request.Headers?.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value?.FirstOrDefault();

        /// <summary>
        /// True when the Standard Webhooks verifier accepts the request with <paramref name="secret"/> by any of its signatures.
        /// Each signature is offered alone: the StandardWebhooks 1.1.2 verifier compares only the first one of the header,
        /// while the spec has a receiver accept any (what a rotation's overlap relies on).
        /// </summary>
        public bool VerifiesWith(string secret) => (Header("webhook-signature") ?? "").Split(' ').Any(signature =>
        {
            var headers = new HeaderDictionary
            {
                ["webhook-id"] = Header("webhook-id"),
                ["webhook-timestamp"] = Header("webhook-timestamp"),
                ["webhook-signature"] = signature,
            };
            try
            {
                new StandardWebhook(secret).Verify(Body, headers);
                return true;
            }
            catch (StandardWebhooks.Diagnostics.WebhookVerificationException)
            {
                return false;
            }
        });
    }
}
