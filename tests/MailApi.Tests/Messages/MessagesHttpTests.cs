using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using MailApi.Storage;
using MailApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace MailApi.Tests.Messages;

/// <summary>The HTTP answers of docs/API.md: status codes and problem+json bodies. The relay is a closed port: delivery is not under test here.</summary>
public sealed class MessagesHttpTests : IClassFixture<MessagesHttpTests.Service>
{
    public sealed class Service() : IDisposable
    {
        public MailApiFactory Factory { get; } = new(FreePort.Get(), new Dictionary<string, string?> { ["Limits:MaxRequestBytes"] = "65536" });
        public void Dispose() => Factory.Dispose();
    }

    private readonly MailApiFactory _factory;

    public MessagesHttpTests(Service service) => _factory = service.Factory;

    private async Task<long> PendingAsync() =>
        (await _factory.Services.GetRequiredService<IMessageStore>().BacklogAsync(CancellationToken.None)).Messages;

    [Fact]
    public async Task Post_answers_202_with_location_and_the_stored_resource()
    {
        var client = _factory.ClientFor();
        var response = await client.PostAsJsonAsync("/v1/messages", Bodies.Valid("student@domain.local", "other@domain.local"));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        var id = (string)body!["id"]!;
        Assert.Equal($"/v1/messages/{id}", response.Headers.Location!.OriginalString);
        Assert.Equal("queued", (string?)body["status"]);
        Assert.Equal($"<{id}@domain.local>", (string?)body["messageId"]);
        Assert.Equal(["student@domain.local", "other@domain.local"],
            body["recipients"]!.AsArray().Select(r => (string)r!["address"]!));
        Assert.All(body["recipients"]!.AsArray(), r => Assert.Equal("pending", (string?)r!["status"]));

        var fetched = await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{id}");
        Assert.Equal(id, (string?)fetched!["id"]);
        Assert.Equal("Test message", (string?)fetched["subject"]);
    }

    [Fact]
    public async Task Invalid_message_is_400_with_every_failing_field_by_json_path_and_nothing_stored()
    {
        var before = await PendingAsync();
        var body = Bodies.Valid("ok@domain.local", "not-an-address");
        body.Remove("from");
        body["subject"] = "line\r\nBcc: victim@evil.example";
        body["headers"] = new JsonObject { ["Bcc"] = "x@y.z", ["X-Ok"] = "a\nb", ["Bad Name"] = "v" };
        body["attachments"] = new JsonArray(new JsonObject { ["filename"] = "a\r\n.txt", ["content"] = "%%%not base64", ["contentType"] = "nope" });
        body["tags"] = new JsonArray("fine", "not fine!");
        body["replyTo"] = new JsonArray("Name <>");

        var response = await _factory.ClientFor().PostAsJsonAsync("/v1/messages", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal(400, (int)problem!["status"]!);
        Assert.False(string.IsNullOrEmpty((string?)problem["title"]));
        Assert.False(string.IsNullOrEmpty((string?)problem["detail"]));
        Assert.False(string.IsNullOrEmpty((string?)problem["type"]));
        var keys = problem["errors"]!.AsObject().Select(e => e.Key).ToHashSet();
        Assert.Superset(
            new HashSet<string>
            {
                "from", "to[1]", "subject", "headers.Bcc", "headers.X-Ok", "headers.Bad Name",
                "attachments[0].filename", "attachments[0].content", "attachments[0].contentType", "tags[1]", "replyTo[0]",
            },
            keys);
        Assert.DoesNotContain("to[0]", keys);
        Assert.Equal(before, await PendingAsync());
    }

    [Theory]
    [InlineData("{\"from\": \"a@domain.local\",")]
    [InlineData("[{\"from\": \"a@domain.local\"}]")]
    [InlineData("{\"from\": \"a@domain.local\", \"from\": \"b@domain.local\", \"to\": [\"c@domain.local\"], \"subject\": \"s\", \"text\": \"t\"}")]
    [InlineData("\"just a string\"")]
    [InlineData("{\"to\": \"not-an-array\"}")]
    public async Task Malformed_json_is_400_problem(string json)
    {
        var before = await PendingAsync();
        var response = await _factory.ClientFor().PostAsync("/v1/messages", new StringContent(json, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(before, await PendingAsync());
    }

    [Fact]
    public async Task Invalid_utf8_is_400_problem()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"from\": \"a@domain.local\", \"subject\": \"x\"}");
        bytes[30] = 0xC3; // starts a two-byte sequence that the next byte does not continue
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        var response = await _factory.ClientFor().PostAsync("/v1/messages", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task Missing_or_unknown_key_is_401_problem()
    {
        var anonymous = _factory.CreateClient();
        var none = await anonymous.PostAsJsonAsync("/v1/messages", Bodies.Valid());
        var wrong = new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = JsonContent.Create(Bodies.Valid()) };
        wrong.Headers.Add("X-Api-Key", "alpha-secret-kez");
        var unknown = await anonymous.SendAsync(wrong);

        foreach (var response in new[] { none, unknown })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
            var problem = await response.Content.ReadFromJsonAsync<JsonObject>();
            Assert.Equal(401, (int)problem!["status"]!);
        }
    }

    [Fact]
    public async Task X_Api_Key_header_works_like_bearer()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = JsonContent.Create(Bodies.Valid()) };
        request.Headers.Add("X-Api-Key", MailApiFactory.AlphaKey);

        var response = await _factory.CreateClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    [Fact]
    public async Task Sender_outside_the_keys_allow_list_is_403_naming_from()
    {
        var before = await PendingAsync();
        var body = Bodies.Valid();
        body["from"] = "ceo@elsewhere.example";

        var response = await _factory.ClientFor(MailApiFactory.AlphaKey).PostAsJsonAsync("/v1/messages", body);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.NotNull(problem!["errors"]!["from"]);
        Assert.Equal(before, await PendingAsync());
        // The other key allows any sender.
        Assert.Equal(HttpStatusCode.Accepted, (await _factory.ClientFor(MailApiFactory.BetaKey).PostAsJsonAsync("/v1/messages", body)).StatusCode);
    }

    [Fact]
    public async Task Unknown_id_malformed_id_and_another_keys_message_are_404_problem()
    {
        var created = await _factory.ClientFor(MailApiFactory.BetaKey).PostAsJsonAsync("/v1/messages", Bodies.Valid());
        var othersId = (string)(await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
        var client = _factory.ClientFor(MailApiFactory.AlphaKey);

        foreach (var id in new[] { Guid.NewGuid().ToString(), "not-a-guid", othersId })
        {
            var response = await client.GetAsync($"/v1/messages/{id}");
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        }
    }

    [Fact]
    public async Task Body_over_the_limit_is_413_problem()
    {
        var body = Bodies.Valid();
        body["text"] = new string('x', 70_000);

        var response = await _factory.ClientFor().PostAsJsonAsync("/v1/messages", body);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task Non_json_body_is_415_problem()
    {
        var response = await _factory.ClientFor().PostAsync("/v1/messages", new StringContent("from=a@domain.local", Encoding.UTF8, "text/plain"));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task Swagger_document_describes_the_api_key_scheme_and_examples()
    {
        var client = _factory.CreateClient();
        var doc = await client.GetFromJsonAsync<JsonObject>("/swagger/v1/swagger.json");

        Assert.NotNull(doc!["components"]!["securitySchemes"]!["ApiKey"]);
        var post = doc["paths"]!["/v1/messages"]!["post"]!;
        Assert.NotNull(post["requestBody"]!["content"]!["application/json"]!["example"]);
        foreach (var status in new[] { "202", "400", "401", "403", "413", "415" })
        {
            var media = post["responses"]![status]!["content"]!.AsObject().First().Value!;
            Assert.True(media["example"] is not null || media["examples"] is not null, status);
        }
        Assert.Equal(HttpStatusCode.Redirect, (await _factory.CreateClient(new() { AllowAutoRedirect = false }).GetAsync("/")).StatusCode);
    }

    [Fact]
    public async Task Past_the_pending_limit_post_is_503_with_retry_after_and_stores_nothing()
    {
        // The relay port is closed: the first message stays deferred, so it keeps counting as pending.
        using var factory = new MailApiFactory(FreePort.Get(), new Dictionary<string, string?> { ["Limits:MaxPendingMessages"] = "1" });
        var client = factory.ClientFor();
        var store = factory.Services.GetRequiredService<IMessageStore>();

        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsJsonAsync("/v1/messages", Bodies.Valid())).StatusCode);
        var refused = await client.PostAsJsonAsync("/v1/messages", Bodies.Valid());

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType!.MediaType);
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Equal(1, (await store.BacklogAsync(CancellationToken.None)).Messages);
    }

    [Fact]
    public async Task Health_endpoints_answer_200_with_a_report()
    {
        var client = _factory.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        var answer = await client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var ready = (await answer.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("healthy", (string?)ready["checks"]!["storage"]!["status"]);
        // This class's relay is a closed port: once other tests here sent messages to it, it is paused, and the service
        // is degraded (still 200: it takes messages and will send them).
        Assert.Contains((string?)ready["status"], new[] { "healthy", "degraded" });
        Assert.NotNull(ready["checks"]!["relays"]);
    }
}
