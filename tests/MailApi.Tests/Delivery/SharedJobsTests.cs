using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Hangfire;
using MailApi.Delivery;
using MailApi.Tests.Infrastructure;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace MailApi.Tests.Delivery;

/// <summary>Single requests that come together share jobs (group commit), each still answered only once its job exists.</summary>
public sealed class SharedJobsTests
{
    /// <summary>
    /// The first request's job is held in the making; three more requests come meanwhile. None is answered before its job
    /// exists, and the three share the next job, each message still with its own transaction and status.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Requests_that_come_while_a_job_is_being_made_share_the_next_one_and_none_is_answered_before_its_job_exists(bool onPostgres)
    {
        await using var relay = await TestSmtpServer.StartAsync();
        var settings = new Dictionary<string, string?> { ["Smtp:Security"] = "None" };
        if (onPostgres)
        {
            settings["Storage:Provider"] = "PostgreSql";
            settings["Storage:ConnectionString"] = await MailApi.Testing.Postgres.CreateDatabaseAsync();
        }
        using var service = new MailApiFactory(relay.Port, settings);
        using var factory = service.WithWebHostBuilder(b => b.ConfigureTestServices(s =>
        {
            HeldFirstJob.Install(s, _ => true);
            s.AddSingleton<HangfireDeliveryQueue>();
            s.AddSingleton<IDeliveryQueue>(p => new CountedQueue(p.GetRequiredService<HangfireDeliveryQueue>()));
        }));
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", MailApiFactory.AlphaKey);
        var jobs = (HeldFirstJob)factory.Services.GetRequiredService<IBackgroundJobClient>();
        var queue = (CountedQueue)factory.Services.GetRequiredService<IDeliveryQueue>();

        var first = client.PostAsJsonAsync("/v1/messages", Bodies.Valid("r0@domain.local"));
        await jobs.Entered.Task.WaitAsync(TimeSpan.FromMinutes(1));
        var more = Enumerable.Range(1, 3).Select(i => client.PostAsJsonAsync("/v1/messages", Bodies.Valid($"r{i}@domain.local"))).ToList();
        await queue.Handed.WaitForAsync(4);

        Assert.False(first.IsCompleted);
        Assert.All(more, r => Assert.False(r.IsCompleted));
        jobs.Release();
        var ids = new List<string>();
        foreach (var response in (HttpResponseMessage[])[await first, .. await Task.WhenAll(more)])
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            ids.Add((string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!);
        }
        foreach (var id in ids)
        {
            var message = await MailApiFactory.WaitForStatusAsync(client, id, TimeSpan.FromMinutes(1), "sent");
            Assert.Single(message["attempts"]!.AsArray());
        }
        await service.WaitUntilIdleAsync(TimeSpan.FromMinutes(1));

        Assert.Collection(jobs.Created,
            job => Assert.Equal([Guid.Parse(ids[0])], HeldFirstJob.Ids(job)),
            job => Assert.Equal(ids.Skip(1).Select(Guid.Parse).Order(), HeldFirstJob.Ids(job).Order()));
        Assert.Equal(2, factory.Services.GetRequiredService<JobStorage>().GetMonitoringApi().SucceededListCount());
        Assert.Equal(4, relay.Messages.Select(m => m.QueueId).Distinct().Count());
    }

    /// <summary>Counts the requests handed to the queue: once counted, a request waits for its job in the queue's hands.</summary>
    private sealed class CountedQueue(IDeliveryQueue inner) : IDeliveryQueue
    {
        public HandedOver Handed { get; } = new();

        public void Schedule(Guid messageId, DateTimeOffset at) => inner.Schedule(messageId, at);

        public Task EnqueueAsync(IReadOnlyList<Guid> messageIds)
        {
            var created = inner.EnqueueAsync(messageIds);
            Handed.Add();
            return created;
        }

        public Task ScheduleAsync(IReadOnlyList<Guid> messageIds, DateTimeOffset at) => inner.ScheduleAsync(messageIds, at);
    }
}
