using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Delivery;
using MailApi.Storage;
using MailApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace MailApi.Tests.Delivery;

/// <summary>
/// While every worker runs a delivery job, a request's messages are handed to the running jobs instead of a job of their
/// own (which would only wait for a worker): answered at once, delivered after the running job's own, once each.
/// </summary>
public sealed class BusyWorkersTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(1);

    [Fact]
    public void Messages_are_handed_off_only_while_every_worker_runs_a_job_and_are_taken_in_the_order_they_came()
    {
        var busy = new BusyWorkers(Microsoft.Extensions.Options.Options.Create(new DeliveryOptions { Workers = 2 }));
        Guid[] ids = [.. Enumerable.Range(0, 5).Select(_ => Guid.NewGuid())];

        busy.Enter();
        Assert.False(busy.TryHandOff([ids[0]]));
        busy.Enter();
        Assert.True(busy.TryHandOff([ids[0], ids[1], ids[2]]));
        Assert.True(busy.TryHandOff([ids[3], ids[4]]));

        Assert.Equal(ids[..2], busy.TakeOrLeave(2));
        Assert.Equal(ids[2..], busy.TakeOrLeave(10));
        // Nothing left: the job leaves, and a worker is free again.
        Assert.Empty(busy.TakeOrLeave(10));
        Assert.False(busy.TryHandOff([Guid.NewGuid()]));
    }

    [Fact]
    public void A_job_that_stops_early_leaves_the_handed_off_messages_to_the_jobs_still_running_and_the_last_one_gets_them()
    {
        var busy = new BusyWorkers(Microsoft.Extensions.Options.Options.Create(new DeliveryOptions { Workers = 2 }));
        Guid[] ids = [Guid.NewGuid(), Guid.NewGuid()];
        busy.Enter();
        busy.Enter();
        Assert.True(busy.TryHandOff(ids));

        Assert.Empty(busy.Leave());
        Assert.Equal(ids, busy.Leave());
        Assert.False(busy.TryHandOff(ids));
    }

    [Fact]
    public void While_an_enqueued_job_waits_for_a_worker_nothing_is_handed_off_and_once_it_starts_hand_offs_go_on()
    {
        var busy = new BusyWorkers(Microsoft.Extensions.Options.Options.Create(new DeliveryOptions { Workers = 2 }));

        // Enqueued jobs alone (another instance may run them): nobody here to take a message.
        busy.Enqueued(1);
        Assert.False(busy.TryHandOff([Guid.NewGuid()]));
        // One runs, the other waits for the free worker: a message queues behind it rather than being handed off.
        busy.Enter();
        busy.Enqueued(1);
        Assert.False(busy.TryHandOff([Guid.NewGuid()]));
        // It starts: every worker runs a delivery job and none waits.
        busy.Enter();
        var id = Guid.NewGuid();
        Assert.True(busy.TryHandOff([id]));
        Assert.Equal([id], busy.TakeOrLeave(10));
        // A failed enqueue is taken back.
        busy.Enqueued(1);
        busy.Enqueued(-1);
        Assert.True(busy.TryHandOff([id]));
    }

    /// <summary>
    /// One worker, held in its dialogue by the relay: two more requests are answered at once and wait <c>queued</c>; once
    /// the relay answers, the running job delivers them too. Hangfire made one job for the three.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Requests_that_come_while_every_worker_is_busy_are_answered_at_once_and_delivered_by_the_running_job(bool onPostgres)
    {
        await using var relay = await TestSmtpServer.StartAsync();
        relay.HoldFinalReplies();
        var settings = new Dictionary<string, string?> { ["Smtp:Security"] = "None", ["Delivery:Workers"] = "1" };
        if (onPostgres)
        {
            settings["Storage:Provider"] = "PostgreSql";
            settings["Storage:ConnectionString"] = await MailApi.Testing.Postgres.CreateDatabaseAsync();
        }
        using var factory = new MailApiFactory(relay.Port, settings);
        var client = factory.ClientFor();

        var first = Guid.Parse(await MailApiFactory.SendAsync(client, Bodies.Valid("r0@domain.local")));
        await relay.WaitForHeldRepliesAsync(1, Patience);
        // Answered while the only worker is held: neither waits for a worker nor for a job.
        var later = new[]
        {
            Guid.Parse(await MailApiFactory.SendAsync(client, Bodies.Valid("r1@domain.local"))),
            Guid.Parse(await MailApiFactory.SendAsync(client, Bodies.Valid("r2@domain.local"))),
        };
        var store = factory.Services.GetRequiredService<IMessageStore>();
        foreach (var id in later)
        {
            Assert.Equal(MessageStatus.Queued, (await store.FindAsync(id, CancellationToken.None))!.Status);
        }
        relay.ReleaseFinalReplies();

        foreach (var id in (Guid[])[first, .. later])
        {
            var message = await MailApiFactory.WaitForStatusAsync(client, id.ToString(), Patience, "sent");
            Assert.Single(message["attempts"]!.AsArray());
        }
        await factory.WaitUntilIdleAsync(Patience);
        Assert.Equal(1, factory.Services.GetRequiredService<Hangfire.JobStorage>().GetMonitoringApi().SucceededListCount());
        Assert.Equal(3, relay.Messages.Select(m => m.QueueId).Distinct().Count());
    }

    /// <summary>
    /// The service stops while its only worker is held in a dialogue and a request's message waits handed off: the job, the
    /// last to leave, gives that message a job of its own, which the next instance on the database runs. Its orphan sweep is
    /// an hour apart, so only that job can deliver the message.
    /// </summary>
    [Fact]
    [Trait("Category", "PostgreSql")]
    public async Task A_message_handed_off_when_the_service_stops_gets_a_job_of_its_own_that_the_next_instance_runs()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Smtp:Security"] = "None",
            ["Delivery:Workers"] = "1",
            ["Delivery:SweepInterval"] = "01:00:00",
            ["Storage:Provider"] = "PostgreSql",
            ["Storage:ConnectionString"] = await MailApi.Testing.Postgres.CreateDatabaseAsync(),
        };
        Guid handedOff;
        relay.HoldFinalReplies();
        using (var stopping = new MailApiFactory(relay.Port, settings))
        {
            var client = stopping.ClientFor();
            await MailApiFactory.SendAsync(client, Bodies.Valid("r0@domain.local"));
            await relay.WaitForHeldRepliesAsync(1, Patience);
            handedOff = Guid.Parse(await MailApiFactory.SendAsync(client, Bodies.Valid("r1@domain.local")));
        }
        relay.ReleaseFinalReplies();

        using var next = new MailApiFactory(relay.Port, settings);
        var message = await MailApiFactory.WaitForStatusAsync(next.ClientFor(), handedOff.ToString(), Patience, "sent");
        Assert.Single(message["attempts"]!.AsArray());
        Assert.Single(relay.Messages, m => m.Recipients.Contains("r1@domain.local"));
    }
}
