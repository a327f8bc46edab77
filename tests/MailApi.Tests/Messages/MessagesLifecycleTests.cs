using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Storage;
using MailApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace MailApi.Tests.Messages;

/// <summary>Idempotency keys, batches, listing, scheduling and cancel, against the in-memory store and a real SMTP server.</summary>
public sealed class MessagesLifecycleTests : IAsyncLifetime
{
    private TestSmtpServer _relay = null!;
    private MailApiFactory _factory = null!;

    public async ValueTask InitializeAsync()
    {
        _relay = await TestSmtpServer.StartAsync();
        _factory = new MailApiFactory(_relay.Port);
    }

    public async ValueTask DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _relay.DisposeAsync();
    }

    private static HttpRequestMessage Post(string path, JsonNode body, string? idempotencyKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }
        return request;
    }

    private async Task<long> PendingAsync() => (await _factory.Services.GetRequiredService<IMessageStore>().BacklogAsync(CancellationToken.None)).Messages;

    [Fact]
    public async Task Same_idempotency_key_and_body_give_the_same_message_and_another_body_is_409()
    {
        var client = _factory.ClientFor();
        var key = "order-" + Guid.NewGuid();

        var first = await client.SendAsync(Post("/v1/messages", Bodies.Valid(), key));
        var again = await client.SendAsync(Post("/v1/messages", Bodies.Valid(), key));
        var changed = Bodies.Valid();
        changed["subject"] = "Another subject";
        var conflict = await client.SendAsync(Post("/v1/messages", changed, key));

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        var id = (string)(await first.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
        Assert.Equal(id, (string)(await again.Content.ReadFromJsonAsync<JsonObject>())!["id"]!);
        Assert.Equal(first.Headers.Location, again.Headers.Location);
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal("application/problem+json", conflict.Content.Headers.ContentType!.MediaType);
        await MailApiFactory.WaitForStatusAsync(client, id, TimeSpan.FromSeconds(20), "sent");
        await _factory.WaitUntilIdleAsync(TimeSpan.FromSeconds(20)); // a second delivery, had the repeat made one, has run
        Assert.Single(_relay.Messages);

        // Another API key with the same Idempotency-Key is another request.
        var other = await _factory.ClientFor(MailApiFactory.BetaKey).SendAsync(Post("/v1/messages", Bodies.Valid(), key));
        Assert.NotEqual(id, (string)(await other.Content.ReadFromJsonAsync<JsonObject>())!["id"]!);
    }

    [Fact]
    public async Task An_idempotency_key_that_is_too_long_or_not_printable_is_400()
    {
        var before = await PendingAsync();
        var tooLong = await _factory.ClientFor().SendAsync(Post("/v1/messages", Bodies.Valid(), new string('k', 256)));

        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.NotNull((await tooLong.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!["Idempotency-Key"]);
        Assert.Equal(before, await PendingAsync());
    }

    [Fact]
    public async Task A_batch_is_202_with_every_message_in_order_and_all_are_delivered()
    {
        var client = _factory.ClientFor();
        var batch = new JsonObject { ["messages"] = new JsonArray(Bodies.Valid("one@domain.local"), Bodies.Valid("two@domain.local"), Bodies.Valid("three@domain.local")) };

        var response = await client.SendAsync(Post("/v1/messages/batch", batch, "batch-" + Guid.NewGuid()));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var items = (await response.Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray();
        Assert.Equal(["one@domain.local", "two@domain.local", "three@domain.local"], items.Select(i => (string)i!["to"]![0]!));
        foreach (var item in items)
        {
            await MailApiFactory.WaitForStatusAsync(client, (string)item!["id"]!, TimeSpan.FromSeconds(20), "sent");
        }
        Assert.Equal(3, _relay.Messages.Count);
    }

    [Fact]
    public async Task A_batch_with_one_invalid_message_is_400_keyed_by_index_and_stores_nothing()
    {
        var before = await PendingAsync();
        var bad = Bodies.Valid();
        bad["subject"] = "a\nb";
        bad["to"] = new JsonArray("nope");
        var batch = new JsonObject { ["messages"] = new JsonArray(Bodies.Valid(), bad) };

        var response = await _factory.ClientFor().SendAsync(Post("/v1/messages/batch", batch));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!.AsObject();
        Assert.Contains("messages[1].subject", errors.Select(e => e.Key));
        Assert.Contains("messages[1].to[0]", errors.Select(e => e.Key));
        Assert.DoesNotContain(errors, e => e.Key.StartsWith("messages[0]"));
        Assert.Equal(before, await PendingAsync());
    }

    [Fact]
    public async Task A_batch_over_100_or_empty_is_400_and_a_foreign_sender_is_403_naming_its_index()
    {
        var client = _factory.ClientFor();
        var tooMany = new JsonObject { ["messages"] = new JsonArray(Enumerable.Range(0, 101).Select(_ => (JsonNode)Bodies.Valid()).ToArray()) };
        var empty = new JsonObject { ["messages"] = new JsonArray() };
        var foreign = Bodies.Valid();
        foreign["from"] = "someone@elsewhere.example";
        var forbidden = new JsonObject { ["messages"] = new JsonArray(Bodies.Valid(), foreign) };

        Assert.Equal(HttpStatusCode.BadRequest, (await client.SendAsync(Post("/v1/messages/batch", tooMany))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.SendAsync(Post("/v1/messages/batch", empty))).StatusCode);
        var response = await client.SendAsync(Post("/v1/messages/batch", forbidden));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.NotNull((await response.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!["messages[1].from"]);
    }

    [Fact]
    public async Task List_pages_newest_first_with_filters_and_only_the_keys_own_messages()
    {
        var client = _factory.ClientFor(MailApiFactory.BetaKey);
        var tag = "t" + Guid.NewGuid().ToString("N")[..10];
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var body = Bodies.Valid($"list{i}@domain.local");
            body["tags"] = new JsonArray(tag);
            var response = await client.PostAsJsonAsync("/v1/messages", body);
            ids.Add((string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!);
        }
        ids.Reverse();

        var first = await client.GetFromJsonAsync<JsonObject>($"/v1/messages?tag={tag}&limit=2");
        var second = await client.GetFromJsonAsync<JsonObject>($"/v1/messages?tag={tag}&limit=2&cursor={first!["nextCursor"]}");
        var third = await client.GetFromJsonAsync<JsonObject>($"/v1/messages?tag={tag}&limit=2&cursor={second!["nextCursor"]}");

        Assert.Equal(ids[..2], first["items"]!.AsArray().Select(i => (string)i!["id"]!));
        Assert.Equal(ids[2..4], second["items"]!.AsArray().Select(i => (string)i!["id"]!));
        Assert.Equal(ids[4..], third!["items"]!.AsArray().Select(i => (string)i!["id"]!));
        Assert.Null((string?)third["nextCursor"]);
        var summary = first["items"]![0]!.AsObject();
        Assert.Equal(["id", "status", "from", "to", "subject", "createdAt", "sentAt", "queueId"], summary.Select(p => p.Key));

        var byRecipient = await client.GetFromJsonAsync<JsonObject>($"/v1/messages?to=list3@domain.local&tag={tag}");
        Assert.Equal([ids[1]], byRecipient!["items"]!.AsArray().Select(i => (string)i!["id"]!));
        foreach (var id in ids)
        {
            await MailApiFactory.WaitForStatusAsync(client, id, TimeSpan.FromSeconds(20), "sent");
        }
        var sent = await client.GetFromJsonAsync<JsonObject>($"/v1/messages?status=sent&tag={tag}");
        Assert.Equal(5, sent!["items"]!.AsArray().Count);
        var queued = await client.GetFromJsonAsync<JsonObject>($"/v1/messages?status=queued&tag={tag}");
        Assert.Empty(queued!["items"]!.AsArray());
        var otherKey = await _factory.ClientFor(MailApiFactory.AlphaKey).GetFromJsonAsync<JsonObject>($"/v1/messages?tag={tag}");
        Assert.Empty(otherKey!["items"]!.AsArray());
    }

    [Theory]
    [InlineData("status=nonsense")]
    [InlineData("limit=0")]
    [InlineData("limit=101")]
    [InlineData("cursor=not-a-cursor")]
    [InlineData("createdAfter=yesterday")]
    public async Task List_with_a_bad_query_is_400_problem(string query)
    {
        var response = await _factory.ClientFor().GetAsync($"/v1/messages?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task A_scheduled_message_waits_for_send_at_then_goes()
    {
        var client = _factory.ClientFor();
        var body = Bodies.Valid("later@domain.local");
        var sendAt = DateTimeOffset.UtcNow.AddSeconds(2);
        body["sendAt"] = sendAt.ToString("O");

        var created = await (await client.PostAsJsonAsync("/v1/messages", body)).Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal("scheduled", (string?)created!["status"]);
        var message = await MailApiFactory.WaitForStatusAsync(client, (string)created["id"]!, TimeSpan.FromSeconds(60), "sent");

        Assert.True(DateTimeOffset.Parse((string)message["sentAt"]!) >= sendAt);
        Assert.Contains(_relay.Messages, m => m.Recipients.Contains("later@domain.local"));
    }

    [Fact]
    public async Task A_canceled_scheduled_message_is_never_sent_and_cancel_of_a_final_message_is_409()
    {
        var client = _factory.ClientFor();
        var body = Bodies.Valid("never@domain.local");
        body["sendAt"] = DateTimeOffset.UtcNow.AddHours(1).ToString("O");
        var id = (string)(await (await client.PostAsJsonAsync("/v1/messages", body)).Content.ReadFromJsonAsync<JsonObject>())!["id"]!;

        var canceled = await client.PostAsync($"/v1/messages/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, canceled.StatusCode);
        Assert.Equal("canceled", (string?)(await canceled.Content.ReadFromJsonAsync<JsonObject>())!["status"]);

        _factory.RunScheduledJobsNow(); // its time comes: the job runs and finds it canceled
        await _factory.WaitUntilIdleAsync(TimeSpan.FromSeconds(60));
        var after = await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{id}");
        Assert.Equal("canceled", (string?)after!["status"]);
        Assert.Empty(after["attempts"]!.AsArray());
        Assert.DoesNotContain(_relay.Messages, m => m.Recipients.Contains("never@domain.local"));

        var again = await client.PostAsync($"/v1/messages/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("canceled", (string?)(await again.Content.ReadFromJsonAsync<JsonObject>())!["detail"]);

        var sentId = (string)(await (await client.PostAsJsonAsync("/v1/messages", Bodies.Valid())).Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
        await MailApiFactory.WaitForStatusAsync(client, sentId, TimeSpan.FromSeconds(20), "sent");
        var tooLate = await client.PostAsync($"/v1/messages/{sentId}/cancel", null);
        Assert.Equal(HttpStatusCode.Conflict, tooLate.StatusCode);
        Assert.Contains("sent", (string?)(await tooLate.Content.ReadFromJsonAsync<JsonObject>())!["detail"]);
        Assert.Equal(HttpStatusCode.NotFound, (await _factory.ClientFor(MailApiFactory.BetaKey).PostAsync($"/v1/messages/{sentId}/cancel", null)).StatusCode);
    }
}
