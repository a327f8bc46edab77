using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Hangfire;
using MailApi.Tests.Infrastructure;
using MailApi.Webhooks;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace MailApi.Tests.Webhooks;

/// <summary>Events recorded at the same moment share a dispatch job (group commit), as single POSTs share delivery jobs.</summary>
public sealed class SharedDispatchTests
{
    /// <summary>
    /// The first sent message's dispatch job is held in the making; three more messages are sent meanwhile. Their
    /// dispatches share the next job, and every message.sent reaches the endpoint once.
    /// </summary>
    [Fact]
    public async Task Events_recorded_while_a_dispatch_job_is_being_made_share_the_next_one_and_each_reaches_the_endpoint_once()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        using var receiver = new WebhookReceiver();
        receiver.Server.Given(Request.Create().WithPath("/hook").UsingPost()).RespondWith(Response.Create().WithStatusCode(204));
        using var service = new MailApiFactory(relay.Port, new Dictionary<string, string?>
        {
            ["Smtp:Security"] = "None",
            ["Webhooks:AllowHttp"] = "true",
            ["Webhooks:AllowPrivateTargets"] = "true",
        });
        using var factory = service.WithWebHostBuilder(b => b.ConfigureTestServices(s =>
        {
            HeldFirstJob.Install(s, job => job.Type == typeof(WebhookDispatcher));
            s.AddSingleton<HangfireWebhookQueue>();
            s.AddSingleton<IWebhookQueue>(p => new CountedDispatches(p.GetRequiredService<HangfireWebhookQueue>()));
        }));
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", MailApiFactory.AlphaKey);
        var jobs = (HeldFirstJob)factory.Services.GetRequiredService<IBackgroundJobClient>();
        var dispatches = (CountedDispatches)factory.Services.GetRequiredService<IWebhookQueue>();
        var endpoint = await client.PostAsJsonAsync("/v1/webhooks", new JsonObject { ["url"] = receiver.Url(), ["events"] = new JsonArray("message.sent") });
        Assert.Equal(HttpStatusCode.Created, endpoint.StatusCode);

        var ids = new List<string> { await SendAsync(client, "r0@domain.local") };
        await jobs.Entered.Task.WaitAsync(TimeSpan.FromMinutes(1));
        for (var i = 1; i < 4; i++)
        {
            ids.Add(await SendAsync(client, $"r{i}@domain.local"));
        }
        await dispatches.Asked.WaitForAsync(4);

        Assert.Empty(receiver.Requests());
        jobs.Release();
        await receiver.WaitForAsync(4);
        await service.WaitUntilIdleAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(ids.Order(), receiver.Requests().Select(r => (string)r.Json["data"]!["id"]!).Order());
        Assert.All(receiver.Requests(), r => Assert.Equal("message.sent", (string)r.Json["type"]!));
        Assert.Collection(jobs.Created,
            job => Assert.Equal([Guid.Parse(ids[0])], HeldFirstJob.Ids(job)),
            job => Assert.Equal(ids.Skip(1).Select(Guid.Parse).Order(), HeldFirstJob.Ids(job).Order()));
    }

    private static async Task<string> SendAsync(HttpClient client, string to)
    {
        var id = await MailApiFactory.SendAsync(client, Bodies.Valid(to));
        await MailApiFactory.WaitForStatusAsync(client, id, TimeSpan.FromMinutes(1), "sent");
        return id;
    }

    /// <summary>Counts the dispatches asked for: once counted, a dispatch waits for its job in the queue's hands.</summary>
    private sealed class CountedDispatches(IWebhookQueue inner) : IWebhookQueue
    {
        public HandedOver Asked { get; } = new();

        public Task DispatchAsync(IReadOnlyList<Guid> messageIds)
        {
            var created = inner.DispatchAsync(messageIds);
            Asked.Add();
            return created;
        }

        public void Enqueue(Guid deliveryId) => inner.Enqueue(deliveryId);

        public void Schedule(Guid deliveryId, DateTimeOffset at) => inner.Schedule(deliveryId, at);
    }
}
