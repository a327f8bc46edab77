using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;

namespace MailApi.Tests.Http;

/// <summary>
/// A problem is problem+json whatever the request accepts: a caller asking only for message/rfc822 or text/html still
/// learns that its key is wrong or its query bad, never a bare 500.
/// </summary>
public sealed class ProblemAcceptTests(NoRelayService service) : IClassFixture<NoRelayService>
{
    [Theory]
    [InlineData("/v1/bounces/0193f1e2-7c1a-7b3e-9a55-6c1f1e0d2a11/raw", "message/rfc822", "wrong-key", HttpStatusCode.Unauthorized)]
    [InlineData("/v1/messages", "text/html", null, HttpStatusCode.Unauthorized)]
    [InlineData("/v1/messages?limit=abc", "text/csv", MailApiFactory.AlphaKey, HttpStatusCode.BadRequest)]
    [InlineData("/v1/bounces/0193f1e2-7c1a-7b3e-9a55-6c1f1e0d2a11/raw", "message/rfc822", MailApiFactory.AlphaKey, HttpStatusCode.Forbidden)]
    [InlineData("/nothing-here", "text/html", null, HttpStatusCode.NotFound)]
    public async Task A_problem_is_problem_json_whatever_the_request_accepts(string path, string accept, string? key, HttpStatusCode status)
    {
        var client = service.Factory.CreateClient();
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
        if (key is not null)
        {
            request.Headers.Add("X-Api-Key", key);
        }

        var response = await client.SendAsync(request);

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(text)!;
        Assert.Equal((int)status, (int)problem["status"]!);
        Assert.False(string.IsNullOrWhiteSpace((string?)problem["type"]), text);
        Assert.False(string.IsNullOrWhiteSpace((string?)problem["detail"]), text);
    }
}
