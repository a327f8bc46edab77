using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace MailApi.Tests.Http;

/// <summary>
/// Bodies of several megabytes through Kestrel, sent with and without a length: the body is read whole, over many reads,
/// before it is parsed, and what follows the megabytes is still checked field by field.
/// </summary>
public sealed class LargeBodyTests : IAsyncLifetime
{
    private ServiceProcess _service = null!;

    public async ValueTask InitializeAsync() =>
        _service = await ServiceProcess.StartAsync(FreePort.Get(), "large-body-key", new Dictionary<string, string>
        {
            ["Smtp__Port"] = FreePort.Get().ToString(),
            ["Logging__LogLevel__Default"] = "Warning",
        });

    public ValueTask DisposeAsync()
    {
        _service.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>A message with a 4 MB attachment (base64 of 3 MB), and <paramref name="extra"/> fields after it.</summary>
    private static string Body(string extra = "") =>
        $$"""{ "from": "zotrim@domain.local", "to": ["a@domain.local"], "subject": "s", "text": "t", "attachments": [ { "filename": "a.bin", "content": "{{Convert.ToBase64String(new byte[3 * 1024 * 1024])}}" } ]{{extra}} }""";

    /// <summary>Content that is sent chunked (no Content-Length) when <paramref name="chunked"/>.</summary>
    private static HttpContent Content(string body, bool chunked)
    {
        if (!chunked)
        {
            return new StringContent(body, Encoding.UTF8, "application/json");
        }
        var stream = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(body)));
        stream.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return stream;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_four_megabyte_message_is_accepted(bool chunked)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = Content(Body(), chunked) };
        request.Headers.TransferEncodingChunked = chunked;

        var response = await _service.Client.SendAsync(request);

        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Wrong_types_after_four_megabytes_are_all_named(bool chunked)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = Content(Body(""", "tags": "one", "sendAt": 5"""), chunked) };
        request.Headers.TransferEncodingChunked = chunked;

        var response = await _service.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!.AsObject();
        Assert.Equal(["sendAt", "tags"], errors.Select(e => e.Key).Order());
    }
}
