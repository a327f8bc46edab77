using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Storage;
using MailApi.Tests.Infrastructure;
using MailApi.Webhooks.Events;
using Microsoft.Extensions.DependencyInjection;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace MailApi.Tests.Webhooks;

/// <summary>
/// Deliveries through the running service to a real receiver (WireMock.Net on 127.0.0.1), signatures checked with the
/// StandardWebhooks verifier; run in memory and on PostgreSQL. Retries are a tenth of a second apart here.
/// </summary>
public abstract partial class WebhookDeliveryContract : IAsyncLifetime
{
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    protected TestSmtpServer Relay { get; private set; } = null!;
    protected WebhookReceiver Receiver { get; } = new();
    protected MailApiFactory Factory { get; private set; } = null!;
    protected HttpClient Client { get; private set; } = null!;

    private Dictionary<string, string?> _settings = null!;

    protected abstract Task<Dictionary<string, string?>> StorageAsync();

    public async ValueTask InitializeAsync()
    {
        Relay = await TestSmtpServer.StartAsync();
        _settings = await StorageAsync();
        _settings["Webhooks:AllowHttp"] = "true";
        _settings["Webhooks:AllowPrivateTargets"] = "true";
        // Longer than any wait of these tests, so no try ends by its timeout on a busy machine, and a held answer waits for
        // the test to release it; the test of the timeout restarts the service with a short one.
        _settings["Webhooks:Timeout"] = "00:01:00";
        _settings["Webhooks:SweepInterval"] = "00:00:00.5";
        for (var i = 0; i < 3; i++)
        {
            _settings[$"Webhooks:RetryDelays:{i}"] = "00:00:00.1";
        }
        Start();
    }

    /// <summary>The service's event outbox, which a test can tell to lose what it is handed.</summary>
    protected LosingOutbox Outbox { get; } = new();

    private void Start()
    {
        Factory = new MailApiFactory(Relay.Port, _settings) { TestServices = Outbox.Install };
        Client = Factory.ClientFor();
    }

    /// <summary>Stops the service and starts it again (on the same store) with <paramref name="key"/> set to <paramref name="value"/>.</summary>
    protected async Task RestartWithAsync(string key, string value)
    {
        await Factory.DisposeAsync();
        _settings[key] = value;
        Start();
    }

    public async ValueTask DisposeAsync()
    {
        await Factory.DisposeAsync();
        await Relay.DisposeAsync();
        Receiver.Dispose();
    }

    protected void Answer(int status, string path = "/hook") =>
        Receiver.Server.Given(Request.Create().WithPath(path).UsingPost()).RespondWith(Response.Create().WithStatusCode(status).WithBody("ok"));

    /// <summary>The receiver answers with <paramref name="responses"/> in turn, the last one for good.</summary>
    protected void AnswerInTurn(params Func<IResponseBuilder, IResponseBuilder>[] responses)
    {
        for (var i = 0; i < responses.Length; i++)
        {
            var request = Receiver.Server.Given(Request.Create().WithPath("/hook").UsingPost()).InScenario("turns");
            if (i > 0)
            {
                request = request.WhenStateIs($"s{i}");
            }
            if (i < responses.Length - 1)
            {
                request = request.WillSetStateTo($"s{i + 1}");
            }
            request.RespondWith(responses[i](Response.Create()));
        }
    }

    protected async Task<(string Id, string Secret)> CreateEndpointAsync(params string[] events)
    {
        var body = new JsonObject { ["url"] = Receiver.Url() };
        if (events.Length > 0)
        {
            body["events"] = new JsonArray([.. events.Select(e => (JsonNode)e)]);
        }
        var response = await Client.PostAsJsonAsync("/v1/webhooks", body);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        return ((string)created["id"]!, (string)created["secret"]!);
    }

    protected async Task<string> SendMessageAsync(JsonObject body)
    {
        var response = await Client.PostAsJsonAsync("/v1/messages", body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
    }

    /// <summary>Polls the endpoint's delivery log until its newest delivery matches.</summary>
    protected async Task<JsonObject> WaitForDeliveryAsync(string endpointId, Func<JsonObject, bool> done)
    {
        JsonObject? last = null;
        await Poll.UntilAsync(async () =>
        {
            var items = (await Client.GetFromJsonAsync<JsonObject>($"/v1/webhooks/{endpointId}/deliveries"))!["items"]!.AsArray();
            last = items.FirstOrDefault()?.AsObject();
            return last is not null && done(last);
        }, Patience, () => $"the delivery of {endpointId} to get there; last seen: {last}");
        return last!;
    }

    protected static int?[] StatusCodes(JsonObject delivery) =>
        [.. delivery["attempts"]!.AsArray().Select(a => (int?)a!["statusCode"])];

    [Fact]
    public async Task A_sent_message_reaches_the_receiver_signed_with_the_standard_headers()
    {
        Answer(200);
        var (_, secret) = await CreateEndpointAsync();
        var id = await SendMessageAsync(Bodies.Valid());

        var request = (await Receiver.WaitForAsync(1)).Single();

        Assert.True(request.VerifiesWith(secret));
        Assert.False(request.VerifiesWith("whsec_" + Convert.ToBase64String(new byte[32])));
        Assert.StartsWith("application/json", request.Header("content-type"));
        Assert.StartsWith("MailApi/", request.Header("user-agent"));
        Assert.StartsWith("v1,", request.Header("webhook-signature"));
        Assert.True(Math.Abs(long.Parse(request.Header("webhook-timestamp")!) - DateTimeOffset.UtcNow.ToUnixTimeSeconds()) < 60);
        var body = request.Json;
        Assert.Equal("message.sent", (string)body["type"]!);
        Assert.Equal(id, (string)body["data"]!["id"]!);
        Assert.Equal(1, (int)body["data"]!["sequence"]!);
        Assert.NotNull((string?)body["data"]!["queueId"]);
        Assert.Null(body["data"]!["text"]);
        Assert.True(request.Body.Length <= 20 * 1024);
    }

    [Fact]
    public async Task A_messages_deliveries_are_listed_with_the_message_for_its_key_only()
    {
        Answer(200);
        Answer(500, "/broken");
        var (endpoint, _) = await CreateEndpointAsync();
        var broken = await Client.PostAsJsonAsync("/v1/webhooks", new JsonObject { ["url"] = Receiver.Url("/broken") });
        var brokenId = (string)(await broken.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
        var id = await SendMessageAsync(Bodies.Valid());
        var other = await SendMessageAsync(Bodies.Valid());
        await MailApiFactory.WaitForStatusAsync(Client, id, Patience, "sent");
        var sentEvent = (string)(await Client.GetFromJsonAsync<JsonObject>($"/v1/messages/{id}/events"))!["items"]![0]!["id"]!;

        JsonArray items = [];
        await Poll.UntilAsync(async () =>
        {
            items = (await Client.GetFromJsonAsync<JsonObject>($"/v1/messages/{id}/deliveries"))!["items"]!.AsArray();
            return items.Count == 2 && items.All(d => (string?)d!["status"] is "delivered" or "failed");
        }, Patience, () => $"both deliveries of {id} to finish; last seen: {items}");

        Assert.All(items, d => Assert.Equal(id, (string?)d!["messageId"]));
        Assert.All(items, d => Assert.Equal(sentEvent, (string?)d!["eventId"]));
        var good = items.Single(d => (string?)d!["endpointId"] == endpoint)!;
        Assert.Equal("delivered", (string?)good["status"]);
        Assert.Equal([200], StatusCodes(good.AsObject()));
        var bad = items.Single(d => (string?)d!["endpointId"] == brokenId)!;
        Assert.Equal("failed", (string?)bad["status"]);
        Assert.All(StatusCodes(bad.AsObject()), code => Assert.Equal(500, code));
        Assert.Null(items.AsEnumerable().FirstOrDefault(d => (string?)d!["messageId"] == other));
        using var beta = Factory.ClientFor(MailApiFactory.BetaKey);
        Assert.Equal(HttpStatusCode.NotFound, (await beta.GetAsync($"/v1/messages/{id}/deliveries")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Client.GetAsync($"/v1/messages/{Guid.CreateVersion7()}/deliveries")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Client.GetAsync("/v1/messages/not-an-id/deliveries")).StatusCode);
    }

    [Fact]
    public async Task A_deferred_then_sent_message_sends_each_event_once_with_its_sequence()
    {
        Answer(200);
        var (_, secret) = await CreateEndpointAsync();
        Relay.DeferRecipient("busy@domain.local", 451, "4.3.0 Try again later", times: 1);
        await SendMessageAsync(Bodies.Valid("busy@domain.local"));

        var requests = await Receiver.WaitForAsync(3);

        Assert.All(requests, r => Assert.True(r.VerifiesWith(secret)));
        // Delivery is not ordered: the receiver orders by data.sequence.
        var bySequence = requests.Select(r => r.Json).OrderBy(j => (int)j["data"]!["sequence"]!).ToList();
        Assert.Equal(["message.deferred", "message.queued", "message.sent"], bySequence.Select(j => (string)j["type"]!));
        Assert.Equal([1, 2, 3], bySequence.Select(j => (int)j["data"]!["sequence"]!));
        Assert.Equal(451, (int)bySequence[0]["data"]!["reply"]!["code"]!);
        Assert.Equal(3, requests.Select(r => r.Header("webhook-id")).Distinct().Count());
    }

    [Fact]
    public async Task The_event_filter_sends_only_the_subscribed_types()
    {
        Answer(200);
        var (endpoint, _) = await CreateEndpointAsync("message.failed");
        Relay.RejectRecipient("gone@domain.local");
        var sent = await SendMessageAsync(Bodies.Valid());
        await MailApiFactory.WaitForStatusAsync(Client, sent, Patience, "sent");
        await SendMessageAsync(Bodies.Valid("gone@domain.local"));

        var request = (await Receiver.WaitForAsync(1)).Single();
        await WaitForDeliveryAsync(endpoint, d => (string?)d["status"] == "delivered");

        Assert.Equal("message.failed", (string)request.Json["type"]!);
        Assert.Single((await Client.GetFromJsonAsync<JsonObject>($"/v1/webhooks/{endpoint}/deliveries"))!["items"]!.AsArray());
    }
}

public sealed class InMemoryWebhookDeliveryTests : WebhookDeliveryContract
{
    protected override Task<Dictionary<string, string?>> StorageAsync() => Task.FromResult(new Dictionary<string, string?>());
}

[Trait("Category", "PostgreSql")]
public sealed class PostgreSqlWebhookDeliveryTests : WebhookDeliveryContract
{
    protected override async Task<Dictionary<string, string?>> StorageAsync() => new()
    {
        ["Storage:Provider"] = "PostgreSql",
        ["Storage:ConnectionString"] = await Postgres.CreateDatabaseAsync(),
    };

    [Fact]
    public async Task An_event_whose_dispatch_job_was_lost_is_found_by_the_sweep_and_sent()
    {
        Answer(200);
        await CreateEndpointAsync();
        var body = Bodies.Valid();
        body["sendAt"] = DateTimeOffset.UtcNow.AddHours(1).ToString("O");
        var id = Guid.Parse(await SendMessageAsync(body));
        await Receiver.WaitForAsync(1);

        // The status change and its event are written, and the instance dies before queueing the dispatch: an outbox
        // that loses what it is handed leaves exactly that.
        var store = Factory.Services.GetRequiredService<IMessageStore>();
        var message = (await store.FindAsync(id, CancellationToken.None))!;
        Outbox.Losing = true;
        Assert.NotNull(await store.TryUpdateAsync(message with { Status = MessageStatus.Canceled, UpdatedAt = DateTimeOffset.UtcNow }, CancellationToken.None));
        Outbox.Losing = false;

        var requests = await Receiver.WaitForAsync(2);

        Assert.Equal(["message.scheduled", "message.canceled"], requests.Select(r => r.Json).OrderBy(j => (int)j["data"]!["sequence"]!).Select(j => (string)j["type"]!));
    }
}
