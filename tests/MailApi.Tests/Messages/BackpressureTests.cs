using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Delivery;
using MailApi.Storage;
using MailApi.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace MailApi.Tests.Messages;

/// <summary>What the service does when too much waits, or when a message is stored but its job cannot be queued.</summary>
public sealed class BackpressureTests
{
    [Fact]
    public async Task Content_bytes_waiting_beyond_max_pending_bytes_answer_503_and_store_nothing()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        using var factory = new MailApiFactory(relay.Port, new Dictionary<string, string?> { ["Limits:MaxPendingBytes"] = "3000" });
        var client = factory.ClientFor();
        var store = factory.Services.GetRequiredService<IMessageStore>();

        var first = await client.PostAsJsonAsync("/v1/messages", Scheduled(new string('a', 2000)));
        var refused = await client.PostAsJsonAsync("/v1/messages", Scheduled(new string('b', 2000)));

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType!.MediaType);
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Contains("Limits:MaxPendingBytes", (string?)(await refused.Content.ReadFromJsonAsync<JsonObject>())!["detail"]);
        Assert.Equal(new Backlog(1, 2000), await store.BacklogAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_batch_stored_but_not_all_queued_is_answered_202_and_the_sweep_sends_each_message_once()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        using var factory = new MailApiFactory(relay.Port, new Dictionary<string, string?> { ["Delivery:SweepInterval"] = "00:00:00.2" })
            .WithWebHostBuilder(b => b.ConfigureTestServices(s => s.Decorate()));
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", MailApiFactory.AlphaKey);
        var batch = new JsonObject { ["messages"] = new JsonArray(Bodies.Valid("a@domain.local"), Bodies.Valid("b@domain.local"), Bodies.Valid("c@domain.local")) };

        var response = await client.PostAsJsonAsync("/v1/messages/batch", batch);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var ids = (await response.Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray().Select(m => (string)m!["id"]!).ToList();
        foreach (var id in ids)
        {
            await MailApiFactory.WaitForStatusAsync(client, id, TimeSpan.FromMinutes(1), "sent");
        }
        Assert.Equal(3, relay.Messages.Count);
        Assert.Equal(3, relay.Messages.Select(m => m.Message.MessageId).Distinct().Count());
    }

    [Fact]
    public async Task Production_on_the_in_memory_store_warns_at_start()
    {
        using var factory = new MailApiFactory(FreePort.Get(), environment: "Production");
        factory.CreateClient();

        Assert.Contains(factory.Logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("Storage:Provider is InMemory in Production"));
    }

    private static JsonObject Scheduled(string text)
    {
        var body = Bodies.Valid();
        body["text"] = text;
        body["sendAt"] = DateTimeOffset.UtcNow.AddDays(1);
        return body;
    }
}

/// <summary>Hangfire's storage failing for the first jobs queued (as in an outage between storing and queueing).</summary>
internal sealed class FailingFirstEnqueue(IDeliveryQueue inner) : IDeliveryQueue
{
    private int _calls;

    public Task EnqueueAsync(IReadOnlyList<Guid> messageIds) =>
        Interlocked.Increment(ref _calls) == 1
            ? throw new InvalidOperationException("The job storage is unreachable (test).")
            : inner.EnqueueAsync(messageIds);

    public void Schedule(Guid messageId, DateTimeOffset at) => inner.Schedule(messageId, at);

    public Task ScheduleAsync(IReadOnlyList<Guid> messageIds, DateTimeOffset at) => inner.ScheduleAsync(messageIds, at);
}

internal static class FailingQueueRegistration
{
    public static void Decorate(this IServiceCollection services)
    {
        services.AddSingleton<HangfireDeliveryQueue>();
        services.AddSingleton<IDeliveryQueue>(s => new FailingFirstEnqueue(s.GetRequiredService<HangfireDeliveryQueue>()));
    }
}
