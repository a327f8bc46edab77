using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using MailApi.OpenApi;
using MailApi.Tests.Infrastructure;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace MailApi.Tests.OpenApi;

/// <summary>
/// The served OpenAPI document against the service's real answers: every operation, every status it declares, and the
/// message resource at every status, driven through a real relay (a scripted <see cref="TestSmtpServer"/>) and a real
/// webhook receiver. Each answer is checked as it arrives (<see cref="ContractLog"/>); a test fails on any mismatch and on
/// any declared answer it did not see, so a status added to the document without a test, or to the service without the
/// document, is found.
/// </summary>
public sealed class OpenApiContractTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static readonly string[] EveryMessageStatus = ["scheduled", "queued", "sending", "deferred", "sent", "partially_sent", "failed", "canceled", "bounced"];

    private static readonly string[] SubmitOperations = ["SendMessage", "SendBatch"];

    private static async Task<OpenApiContract> ContractOfAsync(MailApiFactory factory) =>
        new((await factory.CreateClient().GetFromJsonAsync<JsonObject>("/swagger/v1/swagger.json"))!);

    [Fact]
    public async Task Every_answer_of_every_operation_and_the_resource_at_every_status_match_the_declared_schemas()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        using var receiver = new WebhookReceiver();
        receiver.Server.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200));
        using var factory = new MailApiFactory(relay.Port, new Dictionary<string, string?>
        {
            ["Webhooks:AllowHttp"] = "true",
            ["Webhooks:AllowPrivateTargets"] = "true",
            ["Auth:ApiKeys:0:Bounces"] = "true",
            ["Bounces:MaxReportBytes"] = "100000",
            // Small enough to reach with one request: a 413, and the backlog's 503.
            ["Limits:MaxRequestBytes"] = "300000",
            ["Limits:MaxPendingBytes"] = "250000",
        });
        var contract = await ContractOfAsync(factory);
        Assert.StartsWith("3.0.", contract.Version);
        var log = new ContractLog(contract);
        var api = log.Client(factory, MailApiFactory.AlphaKey);

        // 401: every operation, no key.
        var anonymous = log.Client(factory, key: null);
        foreach (var (_, request) in contract.EveryOperation(PathValue))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(request)).StatusCode);
        }

        // The resource at every status, each answer checked on its way.
        var sent = await SendAsync(api, Bodies.Valid());
        Assert.Equal("queued", (string?)sent["status"]);
        await WaitAsync(api, sent, "sent");

        var scheduled = await SendAsync(api, With(Bodies.Valid(), "sendAt", DateTimeOffset.UtcNow.AddHours(1).ToString("O")));
        Assert.Equal("scheduled", (string?)scheduled["status"]);
        await WaitAsync(api, scheduled, "scheduled");
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsync($"/v1/messages/{scheduled["id"]}/cancel", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await api.PostAsync($"/v1/messages/{scheduled["id"]}/cancel", null)).StatusCode);
        await WaitAsync(api, scheduled, "canceled");

        relay.RejectRecipient("nobody@domain.local");
        await WaitAsync(api, await SendAsync(api, Bodies.Valid("student@domain.local", "nobody@domain.local")), "partially_sent");

        relay.FinalReply(554, "5.7.1 Rejected for policy reasons", times: 1);
        await WaitAsync(api, await SendAsync(api, Bodies.Valid()), "failed");

        relay.DeferRecipient("later@domain.local", 451, "4.3.0 Try again later");
        await WaitAsync(api, await SendAsync(api, Bodies.Valid("later@domain.local")), "deferred");

        relay.HoldFinalReplies();
        var held = await SendAsync(api, Bodies.Valid());
        await relay.WaitForHeldRepliesAsync(1, Patience);
        await WaitAsync(api, held, "sending");
        relay.ReleaseFinalReplies();
        await WaitAsync(api, held, "sent");

        // The problems of submitting, one message and a batch alike.
        var huge = With(Bodies.Valid(), "text", new string('x', 310_000));
        foreach (var (path, wrap) in new (string, Func<JsonObject, JsonObject>)[] { ("/v1/messages", m => m), ("/v1/messages/batch", Batch) })
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await api.PostAsJsonAsync(path, wrap(With(Bodies.Valid(), "from", "not-an-address")))).StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, (await api.PostAsync(path, new StringContent("{", Encoding.UTF8, "application/json"))).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await api.PostAsJsonAsync(path, wrap(With(Bodies.Valid(), "from", "ceo@elsewhere.example")))).StatusCode);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await api.PostAsync(path, Json(wrap(huge)))).StatusCode);
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await api.PostAsync(path, new StringContent("hello", Encoding.UTF8, "text/plain"))).StatusCode);
            var key = Guid.NewGuid().ToString();
            var first = await PostAsync(api, path, wrap(Bodies.Valid()), key);
            var replay = await PostAsync(api, path, wrap(Bodies.Valid()), key);
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
            Assert.Equal(Ids(await first.Content.ReadFromJsonAsync<JsonObject>()), Ids(await replay.Content.ReadFromJsonAsync<JsonObject>()));
            Assert.Equal(HttpStatusCode.Conflict, (await PostAsync(api, path, wrap(With(Bodies.Valid(), "subject", "another")), key)).StatusCode);
        }

        // Listing and reading.
        var page = (await api.GetFromJsonAsync<JsonObject>("/v1/messages?limit=1"))!;
        Assert.NotNull((string?)page["nextCursor"]);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync($"/v1/messages?status=sent&limit=100&cursor={page["nextCursor"]}")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.GetAsync("/v1/messages?limit=0")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.GetAsync("/v1/messages?status=partially-sent")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync($"/v1/messages/{sent["id"]}/events")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync($"/v1/messages/{sent["id"]}/deliveries")).StatusCode);
        var missing = Guid.NewGuid();
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/v1/messages/{missing}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await api.PostAsync($"/v1/messages/{missing}/cancel", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/v1/messages/{missing}/events")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/v1/messages/{missing}/deliveries")).StatusCode);

        // Webhook endpoints and their deliveries.
        var created = await api.PostAsJsonAsync("/v1/webhooks", new JsonObject { ["url"] = receiver.Url(), ["events"] = new JsonArray("message.sent") });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var hook = (string)(await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
        Assert.Equal(HttpStatusCode.BadRequest, (await api.PostAsJsonAsync("/v1/webhooks", new JsonObject { ["url"] = "not a url" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/v1/webhooks")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync($"/v1/webhooks/{hook}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.PatchAsJsonAsync($"/v1/webhooks/{hook}", new JsonObject { ["description"] = "contract" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.PatchAsJsonAsync($"/v1/webhooks/{hook}", new JsonObject { ["events"] = new JsonArray("message.nope") })).StatusCode);
        foreach (var (method, path) in new[] { (HttpMethod.Post, "/v1/webhooks"), (HttpMethod.Patch, $"/v1/webhooks/{hook}") })
        {
            var tooLarge = new JsonObject { ["url"] = receiver.Url(), ["description"] = new string('x', 310_000) };
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await api.SendAsync(new HttpRequestMessage(method, path) { Content = Json(tooLarge) })).StatusCode);
            Assert.Equal(HttpStatusCode.UnsupportedMediaType,
                (await api.SendAsync(new HttpRequestMessage(method, path) { Content = new StringContent("hello", Encoding.UTF8, "text/plain") })).StatusCode);
        }
        var test = await api.PostAsync($"/v1/webhooks/{hook}/test", null);
        Assert.Equal(HttpStatusCode.Accepted, test.StatusCode);
        var delivery = (string)(await test.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
        await Poll.UntilAsync(async () => (await api.GetFromJsonAsync<JsonObject>($"/v1/webhooks/{hook}/deliveries?status=delivered"))!["items"]!.AsArray()
            .Any(d => (string?)d!["id"] == delivery), Patience, () => "the test delivery to be delivered");
        Assert.Equal(HttpStatusCode.Accepted, (await api.PostAsync($"/v1/webhooks/{hook}/deliveries/{delivery}/retry", null)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.GetAsync($"/v1/webhooks/{hook}/deliveries?limit=101")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsync($"/v1/webhooks/{hook}/rotate-secret", null)).StatusCode);
        foreach (var (method, path) in new[]
        {
            (HttpMethod.Get, $"/v1/webhooks/{missing}"), (HttpMethod.Patch, $"/v1/webhooks/{missing}"), (HttpMethod.Delete, $"/v1/webhooks/{missing}"),
            (HttpMethod.Post, $"/v1/webhooks/{missing}/rotate-secret"), (HttpMethod.Post, $"/v1/webhooks/{missing}/test"),
            (HttpMethod.Get, $"/v1/webhooks/{missing}/deliveries"), (HttpMethod.Post, $"/v1/webhooks/{hook}/deliveries/{missing}/retry"),
        })
        {
            var request = new HttpRequestMessage(method, path) { Content = method == HttpMethod.Patch ? JsonContent.Create(new JsonObject { ["enabled"] = true }) : null };
            Assert.Equal(HttpStatusCode.NotFound, (await api.SendAsync(request)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.NoContent, (await api.DeleteAsync($"/v1/webhooks/{hook}")).StatusCode);

        // The suppression list.
        var put = await api.PutAsJsonAsync("/v1/suppressions/gone@domain.local", new JsonObject { ["reason"] = "manual" });
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.PutAsJsonAsync("/v1/suppressions/Gone@domain.local", new JsonObject())).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.PutAsJsonAsync("/v1/suppressions/gone@domain.local", new JsonObject { ["reason"] = "spam" })).StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await api.PutAsync("/v1/suppressions/gone@domain.local",
            Json(new JsonObject { ["reason"] = new string('x', 310_000) }))).StatusCode);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType,
            (await api.PutAsync("/v1/suppressions/gone@domain.local", new StringContent("hello", Encoding.UTF8, "text/plain"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/v1/suppressions?reason=manual&address=@domain.local&limit=10")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.GetAsync("/v1/suppressions?reason=spam")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/v1/suppressions/gone@domain.local")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.GetAsync("/v1/suppressions/not-an-address")).StatusCode);
        Assert.Equal("suppressed", (string?)(await SendAsync(api, Bodies.Valid("gone@domain.local")))["recipients"]![0]!["status"]);
        Assert.Equal(HttpStatusCode.NoContent, (await api.DeleteAsync("/v1/suppressions/gone@domain.local")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await api.DeleteAsync("/v1/suppressions/gone@domain.local")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync("/v1/suppressions/gone@domain.local")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.DeleteAsync("/v1/suppressions/not-an-address")).StatusCode);

        // Bounce reports and their log (a key without Bounces: true is refused each).
        var rfc822 = (string text) => new StringContent(text, Encoding.UTF8, "message/rfc822");
        var bounced = await SendAsync(api, Bodies.Valid("gone@domain.local"));
        await WaitAsync(api, bounced, "sent");
        var dsn = OpenApiBounceExamples.Dsn.Replace("0193f1e2-7c1a-7b3e-9a55-6c1f1e0d2a11", (string)bounced["id"]!).ReplaceLineEndings("\r\n");
        var posted = await api.PostAsync("/v1/bounces", rfc822(dsn));
        Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        var report = (string)(await posted.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
        await WaitAsync(api, bounced, "bounced");
        Assert.Equal(HttpStatusCode.BadRequest, (await api.PostAsync("/v1/bounces", rfc822("not a mail"))).StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await api.PostAsync("/v1/bounces", rfc822("Subject: x\r\n\r\n" + new string('x', 110_000)))).StatusCode);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await api.PostAsync("/v1/bounces", new StringContent(dsn, Encoding.UTF8, "text/plain"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/v1/bounces?matched=true&limit=10")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.GetAsync("/v1/bounces?limit=0")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync($"/v1/bounces/{report}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync($"/v1/bounces/{report}/raw")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/v1/bounces/{missing}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/v1/bounces/{missing}/raw")).StatusCode);
        var other = log.Client(factory, MailApiFactory.BetaKey);
        Assert.Equal(HttpStatusCode.Forbidden, (await other.PostAsync("/v1/bounces", rfc822(dsn))).StatusCode);
        foreach (var path in new[] { "/v1/bounces", $"/v1/bounces/{report}", $"/v1/bounces/{report}/raw" })
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await other.GetAsync(path)).StatusCode);
        }

        // Last, as it fills the backlog: more bytes waiting than Limits:MaxPendingBytes is the submit's other 503.
        var big = await SendAsync(api, With(With(Bodies.Valid(), "text", new string('y', 200_000)), "sendAt", DateTimeOffset.UtcNow.AddHours(1).ToString("O")));
        var bigAgain = With(With(Bodies.Valid(), "text", new string('z', 200_000)), "sendAt", DateTimeOffset.UtcNow.AddHours(1).ToString("O"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await api.PostAsJsonAsync("/v1/messages", bigAgain)).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await api.PostAsJsonAsync("/v1/messages/batch", Batch(bigAgain))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsync($"/v1/messages/{big["id"]}/cancel", null)).StatusCode);

        Assert.True(log.Problems.IsEmpty, string.Join("\n", log.Problems));
        Assert.Equal(EveryMessageStatus.Order(), log.MessageStatuses.Keys.Order());
        // Every answer the document declares was seen, but the store's outage (a test below) for the operations that
        // have no other 503, and the per-key limit's 429 (another test below).
        var expected = contract.Declared.Where(d => (d.Status != "503" || SubmitOperations.Contains(d.OperationId)) && d.Status != "429");
        Assert.Empty(expected.Except(log.Seen.Keys).Select(d => $"{d.OperationId} {d.Status}"));
    }

    [Fact]
    public async Task While_the_store_is_down_every_operation_answers_the_declared_503()
    {
        await using var database = await PrivatePostgres.StartAsync();
        await using var relay = await TestSmtpServer.StartAsync();
        using var factory = new MailApiFactory(relay.Port, new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "PostgreSql",
            ["Storage:ConnectionString"] = database.ConnectionString,
            ["Webhooks:AllowHttp"] = "true",
            ["Webhooks:AllowPrivateTargets"] = "true",
            ["Auth:ApiKeys:0:Bounces"] = "true",
        });
        await EveryOperationAnswersAsync(factory, HttpStatusCode.ServiceUnavailable, _ => database.StopAsync());
    }

    [Fact]
    public async Task Over_the_per_key_limit_every_keyed_operation_answers_the_declared_429()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        using var factory = new MailApiFactory(relay.Port, new Dictionary<string, string?> { ["RateLimit:PerKeyPerMinute"] = "1" });
        // The key's one request of the minute; every one after it is over the limit.
        await EveryOperationAnswersAsync(factory, HttpStatusCode.TooManyRequests,
            async api => Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/v1/messages")).StatusCode));
    }

    /// <summary>
    /// After <paramref name="before"/>, every operation that declares <paramref name="status"/> answers it, and each answer
    /// matches what the document declares for it.
    /// </summary>
    private static async Task EveryOperationAnswersAsync(MailApiFactory factory, HttpStatusCode status, Func<HttpClient, Task> before)
    {
        var contract = await ContractOfAsync(factory);
        var log = new ContractLog(contract);
        var api = log.Client(factory, MailApiFactory.AlphaKey);
        var code = ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture);

        await before(api);
        foreach (var (operation, request) in contract.EveryOperation(PathValue))
        {
            if (!contract.Declared.Contains((operation, code)))
            {
                continue;
            }
            var answer = await api.SendAsync(request);
            Assert.True(answer.StatusCode == status, $"{operation}: {answer.StatusCode} {await answer.Content.ReadAsStringAsync()}");
        }

        Assert.True(log.Problems.IsEmpty, string.Join("\n", log.Problems));
        Assert.Empty(contract.Declared.Where(d => d.Status == code).Except(log.Seen.Keys).Select(d => $"{d.OperationId} {d.Status}"));
    }

    [Fact]
    public async Task The_check_rejects_answers_that_differ_from_the_document()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        using var factory = new MailApiFactory(relay.Port);
        var contract = await ContractOfAsync(factory);
        var api = factory.ClientFor();
        var accepted = await api.PostAsJsonAsync("/v1/messages", Bodies.Valid());
        var queued = (await accepted.Content.ReadFromJsonAsync<JsonObject>())!;
        var sent = await MailApiFactory.WaitForStatusAsync(api, (string)queued["id"]!, Patience, "sent");
        var resource = contract.SchemaFor("GetMessage", "200", "application/json");

        // The real answers pass, nulls included (finalReply, every reply and sentAt are null in a queued message).
        Assert.True(OpenApiContract.IsValid(resource, queued), queued.ToJsonString());
        Assert.True(OpenApiContract.IsValid(resource, sent), sent.ToJsonString());
        Assert.Null(queued["finalReply"]);

        // Wrong in each way a generated client would choke on.
        Assert.False(OpenApiContract.IsValid(resource, Changed(sent, m => m.Remove("id"))));
        Assert.False(OpenApiContract.IsValid(resource, Changed(sent, m => m["id"] = "not-a-uuid")));
        Assert.False(OpenApiContract.IsValid(resource, Changed(sent, m => m["status"] = "Partially_sent")));
        Assert.False(OpenApiContract.IsValid(resource, Changed(sent, m => m["finalReply"] = "250 Ok")));
        Assert.False(OpenApiContract.IsValid(resource, Changed(sent, m => m["recipients"] = null)));
        Assert.False(OpenApiContract.IsValid(resource, Changed(sent, m => m["recipients"]![0]!["reply"]!["code"] = "250")));
        Assert.False(OpenApiContract.IsValid(resource, Changed(sent, m => m["createdAt"] = null)));
        Assert.False(OpenApiContract.IsValid(resource, Changed(sent, m => m["undeclared"] = 1)));
        var invalid = contract.SchemaFor("SendMessage", "400", "application/problem+json");
        Assert.False(OpenApiContract.IsValid(invalid, JsonNode.Parse("""{ "type": "about:blank", "title": "Bad", "status": 400 }""")));
        Assert.False(OpenApiContract.IsValid(invalid, JsonNode.Parse("""{ "type": "about:blank", "title": "Bad", "status": 400, "errors": { "from": "wrong" } }""")));

        // An undeclared status, a missing required header, another media type.
        Assert.NotEmpty(contract.Check("GetMessage", 418, "application/json", [], sent));
        Assert.NotEmpty(contract.Check("SendMessage", 202, "application/json", [], queued));
        Assert.Empty(contract.Check("SendMessage", 202, "application/json", ["Location"], queued));
        Assert.NotEmpty(contract.Check("GetMessage", 200, "text/plain", [], sent));
        Assert.NotEmpty(contract.Check("DeleteWebhook", 204, "application/json", [], new JsonObject()));
    }

    /// <summary>A value for a path parameter that the service reads far enough to answer (a UUID for ids, an address for an address).</summary>
    private static string PathValue(string template, string name) => name == "address" ? $"{Guid.NewGuid():N}@domain.local" : Guid.NewGuid().ToString();

    private static JsonObject With(JsonObject body, string name, JsonNode? value)
    {
        body[name] = value;
        return body;
    }

    /// <summary>A body with a Content-Length, as most clients send it (the 413 is then answered before it is read).</summary>
    private static StringContent Json(JsonNode body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    /// <summary>The message ids of a 202: one message's, or a batch's in order.</summary>
    private static string Ids(JsonObject? answer) =>
        answer?["items"] is JsonArray items ? string.Join(",", items.Select(m => (string?)m!["id"])) : (string?)answer?["id"] ?? "";

    private static JsonObject Batch(JsonObject message) => new() { ["messages"] = new JsonArray(message.DeepClone()) };

    private static JsonObject Changed(JsonObject resource, Action<JsonObject> change)
    {
        var copy = resource.DeepClone().AsObject();
        change(copy);
        return copy;
    }

    private static Task<HttpResponseMessage> PostAsync(HttpClient api, string path, JsonObject body, string idempotencyKey) =>
        api.SendAsync(new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body), Headers = { { "Idempotency-Key", idempotencyKey } } });

    private static async Task<JsonObject> SendAsync(HttpClient api, JsonObject body)
    {
        var answer = await api.PostAsJsonAsync("/v1/messages", body);
        Assert.Equal(HttpStatusCode.Accepted, answer.StatusCode);
        return (await answer.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private static Task WaitAsync(HttpClient api, JsonObject message, string status) =>
        Poll.UntilAsync(async () => (string?)(await api.GetFromJsonAsync<JsonObject>($"/v1/messages/{message["id"]}"))!["status"] == status,
            Patience, () => $"message {message["id"]} to be {status}");
}
