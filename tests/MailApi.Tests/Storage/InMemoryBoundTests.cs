using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Storage;
using MailApi.Tests.Infrastructure;

namespace MailApi.Tests.Storage;

/// <summary>
/// The in-memory store's bound (<c>Storage:InMemory:MaxMessages</c>): past it an add drops the messages that became final
/// longest ago, never one that is not final, and a dropped message's idempotency key still answers as before.
/// </summary>
public sealed class InMemoryBoundTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly CancellationToken None = CancellationToken.None;
    private const string Owner = "bound";

    private static async Task<StoredMessage> AddAsync(IMessageStore store, MessageStatus status, IdempotencyClaim? claim = null) =>
        (await store.AddAsync([Message(status)], claim, None)).Messages.Single();

    private static StoredMessage Message(MessageStatus status) => MessageStoreContract.Message(Owner, T0, status);

    /// <summary>Takes <paramref name="queued"/> and stores it sent, as the delivery job does.</summary>
    private static async Task SendAsync(IMessageStore store, StoredMessage queued)
    {
        var taken = (await store.TakeQueuedAsync([queued.Id], "worker", T0, None)).Single();
        Assert.NotNull(await store.TryUpdateAsync(taken with { Status = MessageStatus.Sent, SentAt = T0, Worker = null }, None));
    }

    private static async Task<bool> HeldAsync(IMessageStore store, StoredMessage message) => await store.FindAsync(message.Id, None) is not null;

    private static async Task<int> CountAsync(IMessageStore store) =>
        (await store.ListAsync(new MessageQuery { Owner = Owner, Limit = 100_000 }, None)).Items.Count;

    [Fact]
    public async Task The_messages_that_became_final_longest_ago_go_first()
    {
        var store = new InMemoryMessageStore(maxMessages: 3);
        var early = await AddAsync(store, MessageStatus.Queued);
        var first = await AddAsync(store, MessageStatus.Failed);
        var second = await AddAsync(store, MessageStatus.Failed);
        // Created first, final last: it is the last of the three to go.
        await SendAsync(store, early);

        var third = await AddAsync(store, MessageStatus.Failed);
        Assert.False(await HeldAsync(store, first));
        Assert.True(await HeldAsync(store, second));
        Assert.True(await HeldAsync(store, early));

        await AddAsync(store, MessageStatus.Failed);
        Assert.False(await HeldAsync(store, second));
        Assert.True(await HeldAsync(store, early));

        await AddAsync(store, MessageStatus.Failed);
        Assert.False(await HeldAsync(store, early));
        Assert.True(await HeldAsync(store, third));
        Assert.Equal(3, await CountAsync(store));
    }

    [Fact]
    public async Task A_message_that_is_not_final_is_never_dropped_and_the_add_still_succeeds()
    {
        var store = new InMemoryMessageStore(maxMessages: 2);
        var queued = await AddAsync(store, MessageStatus.Queued);
        var scheduled = await AddAsync(store, MessageStatus.Scheduled);
        var deferred = await AddAsync(store, MessageStatus.Queued);
        var taken = (await store.TakeQueuedAsync([deferred.Id], "worker", T0, None)).Single();
        Assert.NotNull(await store.TryUpdateAsync(taken with { Status = MessageStatus.Deferred, Worker = null, NextAttemptAt = T0.AddMinutes(1) }, None));
        var sending = await AddAsync(store, MessageStatus.Queued);
        await store.TakeQueuedAsync([sending.Id], "worker", T0, None);

        // Four messages, none final: all kept over the bound.
        Assert.Equal(4, await CountAsync(store));

        await SendAsync(store, queued);
        var next = await AddAsync(store, MessageStatus.Queued);
        Assert.False(await HeldAsync(store, queued));
        foreach (var kept in new[] { scheduled, deferred, sending, next })
        {
            Assert.True(await HeldAsync(store, kept));
        }
        Assert.Equal(new Backlog(4, 4 * next.ContentBytes), await store.BacklogAsync(None));
    }

    [Fact]
    public async Task A_dropped_message_is_gone_but_its_idempotency_key_answers_it_until_the_key_expires()
    {
        var store = new InMemoryMessageStore(maxMessages: 1);
        var claim = new IdempotencyClaim(Owner, "order-1", "hash-1", T0.AddYears(100));
        var claimed = await AddAsync(store, MessageStatus.Queued, claim);
        await SendAsync(store, claimed);
        var other = await AddAsync(store, MessageStatus.Failed);

        Assert.False(await HeldAsync(store, claimed));
        var again = await store.AddAsync([Message(MessageStatus.Queued)], claim, None);
        Assert.False(again.Created);
        Assert.Equal("hash-1", again.ExistingRequestHash);
        var answered = Assert.Single(again.Messages);
        Assert.Equal(claimed.Id, answered.Id);
        Assert.Equal(MessageStatus.Sent, answered.Status);
        Assert.True(await HeldAsync(store, other));
        Assert.Equal(1, await CountAsync(store));

        // Once the key has expired the request is a new one, as for any expired key.
        await store.PurgeAsync(DateTimeOffset.MinValue, DateTimeOffset.MinValue, T0.AddYears(101), None);
        var later = await store.AddAsync([Message(MessageStatus.Queued)], claim with { ExpiresAt = T0.AddYears(200) }, None);
        Assert.True(later.Created);
    }

    [Fact]
    public async Task The_bound_holds_under_concurrent_adds_and_keeps_every_message_that_is_not_final()
    {
        const int Max = 100;
        var store = new InMemoryMessageStore(Max);
        var queued = new List<StoredMessage>();
        var adders = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 100; i++)
            {
                await AddAsync(store, MessageStatus.Sent);
            }
        })).Append(Task.Run(async () =>
        {
            for (var i = 0; i < 40; i++)
            {
                queued.Add(await AddAsync(store, MessageStatus.Queued));
            }
        }));
        await Task.WhenAll(adders);

        Assert.Equal(Max, await CountAsync(store));
        foreach (var kept in queued)
        {
            Assert.True(await HeldAsync(store, kept));
        }
    }

    [Fact]
    public async Task Through_the_service_a_dropped_message_answers_404_and_its_idempotency_key_sends_nothing_again()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        using var factory = new MailApiFactory(relay.Port, new Dictionary<string, string?> { ["Storage:InMemory:MaxMessages"] = "2" });
        var client = factory.ClientFor();
        var body = Bodies.Valid();

        var first = (string)(await PostAsync(client, body, "bound-key-1"))["id"]!;
        await MailApiFactory.WaitForStatusAsync(client, first, TimeSpan.FromSeconds(20), "sent");
        var second = (string)(await PostAsync(client, Bodies.Valid()))["id"]!;
        await MailApiFactory.WaitForStatusAsync(client, second, TimeSpan.FromSeconds(20), "sent");
        var third = (string)(await PostAsync(client, Bodies.Valid()))["id"]!;
        await MailApiFactory.WaitForStatusAsync(client, third, TimeSpan.FromSeconds(20), "sent");

        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/v1/messages/{first}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/v1/messages/{second}")).StatusCode);
        var replayed = await PostAsync(client, body, "bound-key-1");
        Assert.Equal(first, (string?)replayed["id"]);
        Assert.Equal("sent", (string?)replayed["status"]);
        // Nothing new was stored, so nothing can be sent again.
        var list = (await client.GetFromJsonAsync<JsonObject>("/v1/messages"))!;
        Assert.Equal([third, second], list["items"]!.AsArray().Select(i => (string?)i!["id"]));
        Assert.Equal(3, relay.Messages.Count);
    }

    /// <summary>POSTs <paramref name="body"/> (with an <c>Idempotency-Key</c> when given); the 202's message.</summary>
    private static async Task<JsonObject> PostAsync(HttpClient client, JsonObject body, string? key = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = JsonContent.Create(body) };
        if (key is not null)
        {
            request.Headers.Add("Idempotency-Key", key);
        }
        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }
}
