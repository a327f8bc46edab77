using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;

namespace MailApi.Tests.Webhooks;

/// <summary><c>GET /v1/messages/{id}/events</c> through the running service, in memory and on PostgreSQL, with a real SMTP server.</summary>
public abstract class MessageEventsContract : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private TestSmtpServer _relay = null!;
    private MailApiFactory _factory = null!;

    protected abstract Task<Dictionary<string, string?>> SettingsAsync();

    public async ValueTask InitializeAsync()
    {
        _relay = await TestSmtpServer.StartAsync();
        _factory = new MailApiFactory(_relay.Port, await SettingsAsync());
    }

    public async ValueTask DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _relay.DisposeAsync();
    }

    private async Task<string> SendAsync(JsonObject body)
    {
        var response = await _factory.ClientFor().PostAsJsonAsync("/v1/messages", body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
    }

    /// <summary>A message with a <c>sendAt</c> a few seconds ahead, stored as <c>scheduled</c>: on a machine so loaded that
    /// the time has passed when the request is read (the message is then queued at once), again with more time.</summary>
    private async Task<string> SendSoonAsync()
    {
        foreach (var seconds in (int[])[3, 10, 30])
        {
            var body = Bodies.Valid();
            body["sendAt"] = DateTimeOffset.UtcNow.AddSeconds(seconds).ToString("O");
            var response = await _factory.ClientFor().PostAsJsonAsync("/v1/messages", body);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            var message = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
            if ((string?)message["status"] == "scheduled")
            {
                return (string)message["id"]!;
            }
        }
        throw new InvalidOperationException("No message was stored as scheduled, even 30 s ahead.");
    }

    private async Task<JsonArray> EventsAsync(string id) =>
        (await _factory.ClientFor().GetFromJsonAsync<JsonObject>($"/v1/messages/{id}/events"))!["items"]!.AsArray();

    private static string[] Types(JsonArray events) => [.. events.Select(e => (string)e!["type"]!)];

    private static void AssertSequenced(JsonArray events)
    {
        for (var i = 0; i < events.Count; i++)
        {
            Assert.Equal(i + 1, (int)events[i]!["data"]!["sequence"]!);
        }
    }

    [Fact]
    public async Task A_sent_message_has_one_sent_event_with_queue_id_reply_and_recipients_and_no_content()
    {
        var id = await SendAsync(Bodies.Valid());
        await MailApiFactory.WaitForStatusAsync(_factory.ClientFor(), id, Patience, "sent");

        var events = await EventsAsync(id);

        Assert.Equal(["message.sent"], Types(events));
        var data = events[0]!["data"]!;
        Assert.Equal(id, (string)data["id"]!);
        Assert.Equal("sent", (string)data["status"]!);
        Assert.Equal(1, (int)data["attempt"]!);
        Assert.NotNull((string?)data["queueId"]);
        Assert.Equal(250, (int)data["reply"]!["code"]!);
        Assert.Equal("accepted", (string)data["recipients"]![0]!["status"]!);
        Assert.Equal("Test message", (string)data["subject"]!);
        Assert.Null(data["text"]);
        Assert.Null(data["transcript"]);
        Assert.Null(data["attempts"]);
        AssertSequenced(events);
    }

    [Fact]
    public async Task A_deferred_then_sent_message_has_deferred_queued_sent_in_sequence()
    {
        _relay.DeferRecipient("busy@domain.local", 451, "4.3.0 Try again later", times: 1);
        var id = await SendAsync(Bodies.Valid("busy@domain.local"));
        await MailApiFactory.WaitForStatusAsync(_factory.ClientFor(), id, Patience, "sent");

        var events = await EventsAsync(id);

        Assert.Equal(["message.deferred", "message.queued", "message.sent"], Types(events));
        var deferred = events[0]!["data"]!;
        Assert.Equal(451, (int)deferred["reply"]!["code"]!);
        Assert.Equal("4.3.0", (string?)deferred["reply"]!["enhancedCode"]);
        Assert.NotNull(deferred["nextAttemptAt"]);
        Assert.Equal("deferred", (string)deferred["recipients"]![0]!["status"]!);
        Assert.Equal(2, (int)events[2]!["data"]!["attempt"]!);
        AssertSequenced(events);
    }

    [Fact]
    public async Task A_failed_message_has_a_failed_event_with_the_refusal()
    {
        _relay.RejectRecipient("gone@domain.local");
        var id = await SendAsync(Bodies.Valid("gone@domain.local"));
        await MailApiFactory.WaitForStatusAsync(_factory.ClientFor(), id, Patience, "failed");

        var events = await EventsAsync(id);

        Assert.Equal(["message.failed"], Types(events));
        Assert.Equal(550, (int)events[0]!["data"]!["reply"]!["code"]!);
        Assert.Equal("rejected", (string)events[0]!["data"]!["recipients"]![0]!["status"]!);
    }

    [Fact]
    public async Task A_scheduled_message_has_scheduled_queued_sent_and_a_canceled_one_scheduled_canceled()
    {
        var sent = await SendSoonAsync();
        var later = Bodies.Valid();
        later["sendAt"] = DateTimeOffset.UtcNow.AddHours(1).ToString("O");
        var canceled = await SendAsync(later);

        Assert.Equal(HttpStatusCode.OK, (await _factory.ClientFor().PostAsync($"/v1/messages/{canceled}/cancel", null)).StatusCode);
        await MailApiFactory.WaitForStatusAsync(_factory.ClientFor(), sent, Patience, "sent");

        var sentEvents = await EventsAsync(sent);
        var canceledEvents = await EventsAsync(canceled);
        Assert.Equal(["message.scheduled", "message.queued", "message.sent"], Types(sentEvents));
        Assert.Equal(["message.scheduled", "message.canceled"], Types(canceledEvents));
        AssertSequenced(sentEvents);
        AssertSequenced(canceledEvents);
        Assert.True(DateTimeOffset.Parse((string)sentEvents[0]!["timestamp"]!) <= DateTimeOffset.Parse((string)sentEvents[2]!["timestamp"]!));
    }

    [Fact]
    public async Task Another_keys_message_events_are_404()
    {
        var id = await SendAsync(Bodies.Valid());

        var response = await _factory.ClientFor(MailApiFactory.BetaKey).GetAsync($"/v1/messages/{id}/events");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }
}

public sealed class InMemoryMessageEventsTests : MessageEventsContract
{
    protected override Task<Dictionary<string, string?>> SettingsAsync() => Task.FromResult(new Dictionary<string, string?>());
}

[Trait("Category", "PostgreSql")]
public sealed class PostgreSqlMessageEventsTests : MessageEventsContract
{
    protected override async Task<Dictionary<string, string?>> SettingsAsync() => new()
    {
        ["Storage:Provider"] = "PostgreSql",
        ["Storage:ConnectionString"] = await Postgres.CreateDatabaseAsync(),
    };
}
