using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Hangfire;
using MailApi.Delivery;
using MailApi.Storage;
using MailApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace MailApi.Tests.Delivery;

/// <summary>
/// While every worker runs a delivery job, a request's messages are handed to the running jobs instead of a job of their
/// own (which would only wait for a worker): answered at once, delivered after the running job's own, once each.
/// </summary>
public sealed class BusyWorkersTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(1);

    [Fact]
    public void Messages_are_handed_off_while_a_delivery_job_runs_and_are_taken_in_the_order_they_came()
    {
        var busy = NewBusyWorkers(workers: 2, new ManualClock());
        Guid[] ids = [.. Enumerable.Range(0, 5).Select(_ => Guid.NewGuid())];

        // No delivery job runs: a job of their own.
        Assert.False(busy.TryHandOff([ids[0]]));
        DeliveryJobStarts(busy);
        // One runs and a worker is free: the running job takes them next, rather than a new job.
        Assert.True(busy.TryHandOff([ids[0], ids[1], ids[2]]));
        DeliveryJobStarts(busy);
        Assert.True(busy.TryHandOff([ids[3], ids[4]]));

        Assert.True(busy.TryTake(2, out var first));
        Assert.Equal(ids[..2], first);
        Assert.True(busy.TryTake(10, out var rest));
        Assert.Equal(ids[2..], rest);
        // Nothing left: the jobs leave, and the next request's messages get a job.
        Assert.False(busy.TryTake(10, out _));
        Assert.Empty(busy.Leave());
        busy.WorkerFreed();
        Assert.Empty(busy.Leave());
        busy.WorkerFreed();
        Assert.False(busy.TryHandOff([Guid.NewGuid()]));
    }

    [Fact]
    public void While_a_worker_is_free_up_to_one_take_a_running_job_is_handed_off_and_the_rest_get_a_job()
    {
        var busy = NewBusyWorkers(workers: 3, new ManualClock());
        DeliveryJobStarts(busy);
        Assert.True(busy.TryHandOff([.. NewIds(DeliveryJob.TakeAtOnce - 1)]));
        Assert.True(busy.TryHandOff([.. NewIds(5)]));
        // A take's worth waits for the one running job: the next request's messages start in a free worker.
        Assert.False(busy.TryHandOff([Guid.NewGuid()]));
        // With a second job running, each may have a take's worth waiting.
        DeliveryJobStarts(busy);
        Assert.True(busy.TryHandOff([Guid.NewGuid()]));
        // Every worker busy: a new job would only wait, so the messages are handed off however many wait.
        busy.WorkerTaken();
        Assert.True(busy.TryHandOff([.. NewIds(3 * DeliveryJob.TakeAtOnce)]));
    }

    [Fact]
    public void A_message_handed_off_for_a_while_is_taken_back_for_a_job_of_its_own_once_a_worker_is_free()
    {
        var clock = new ManualClock();
        var busy = NewBusyWorkers(workers: 2, clock);
        DeliveryJobStarts(busy);
        Guid[] early = [Guid.NewGuid(), Guid.NewGuid()];
        Assert.True(busy.TryHandOff(early));
        clock.Advance(BusyWorkers.Patience / 2);
        Guid[] late = [Guid.NewGuid()];
        Assert.True(busy.TryHandOff(late));
        Assert.Empty(busy.TakeOverdue());

        clock.Advance(BusyWorkers.Patience / 2);
        // Every worker busy: a job of their own would wait as long.
        busy.WorkerTaken();
        Assert.Empty(busy.TakeOverdue());
        busy.WorkerFreed();
        // The running job is slow (a relay that takes its time) and a worker is free: the overdue ones get a job.
        Assert.Equal(early, busy.TakeOverdue());
        Assert.True(busy.AnyHandedOff);
        Assert.True(busy.TryTake(10, out var rest));
        Assert.Equal(late, rest);
        Assert.False(busy.AnyHandedOff);
    }

    [Fact]
    public void A_worker_busy_with_another_kind_of_job_counts_as_spoken_for_but_takes_nothing()
    {
        var busy = NewBusyWorkers(workers: 2, new ManualClock());
        // A webhook alone: no delivery job to take a message.
        busy.WorkerTaken();
        Assert.False(busy.TryHandOff([Guid.NewGuid()]));
        // A delivery job beside it: every worker busy.
        DeliveryJobStarts(busy);
        Assert.True(busy.TryHandOff([Guid.NewGuid()]));
    }

    [Fact]
    public void A_job_that_stops_early_leaves_the_handed_off_messages_to_the_jobs_still_running_and_the_last_one_gets_them()
    {
        var busy = NewBusyWorkers(workers: 2, new ManualClock());
        Guid[] ids = [Guid.NewGuid(), Guid.NewGuid()];
        DeliveryJobStarts(busy);
        DeliveryJobStarts(busy);
        Assert.True(busy.TryHandOff(ids));

        Assert.Empty(busy.Leave());
        Assert.Equal(ids, busy.Leave());
        Assert.False(busy.TryHandOff(ids));
    }

    [Fact]
    public void A_job_that_waits_while_every_worker_is_busy_gets_one_running_jobs_worker_and_the_others_go_on_taking()
    {
        var busy = NewBusyWorkers(workers: 3, new ManualClock());
        DeliveryJobStarts(busy);
        DeliveryJobStarts(busy);
        // A webhook holds the third worker: every worker is busy.
        busy.WorkerTaken();
        Assert.True(busy.TryHandOff([.. NewIds(4)]));

        // Another job is enqueued (a due retry, say): one delivery job leaves its worker to it, the other goes on.
        busy.JobEnqueued();
        Assert.False(busy.TryTake(1, out _));
        Assert.True(busy.TryTake(1, out _));
        Assert.Empty(busy.Leave());
        busy.WorkerFreed();
        // It starts in the freed worker; the running job takes the rest.
        busy.JobLeftQueue();
        busy.WorkerTaken();
        Assert.True(busy.TryTake(1, out _));
        // A job enqueued while a worker is free will start in it: nobody leaves.
        busy.WorkerFreed();
        busy.JobEnqueued();
        Assert.True(busy.TryTake(1, out _));
    }

    [Fact]
    public void A_waiting_job_that_never_starts_here_is_forgotten_after_a_while_since_another_instance_ran_it()
    {
        var clock = new ManualClock();
        var busy = NewBusyWorkers(workers: 2, clock);
        DeliveryJobStarts(busy);
        busy.JobEnqueued();
        Guid[] handedOff = [Guid.NewGuid()];
        Assert.True(busy.TryHandOff(handedOff));

        // The waiting job stands for the free worker: the overdue message would only wait for a job of its own too.
        clock.Advance(BusyWorkers.Patience);
        Assert.Empty(busy.TakeOverdue());
        clock.Advance(BusyWorkers.Forgotten - BusyWorkers.Patience);
        // One worker is free for a job of their own again.
        Assert.Equal(handedOff, busy.TakeOverdue());
    }

    private static IEnumerable<Guid> NewIds(int count) => Enumerable.Range(0, count).Select(_ => Guid.NewGuid());

    /// <summary>What <see cref="WorkerCountsFilter"/> and the delivery job tell it when a worker starts a delivery job.</summary>
    private static void DeliveryJobStarts(BusyWorkers busy)
    {
        busy.WorkerTaken();
        busy.Enter();
    }

    /// <summary>This many delivery workers, in memory or on a fresh PostgreSQL database.</summary>
    private static async Task<Dictionary<string, string?>> WorkersAsync(bool onPostgres, int workers = 1)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Smtp:Security"] = "None",
            ["Delivery:Workers"] = workers.ToString(CultureInfo.InvariantCulture),
        };
        if (onPostgres)
        {
            settings["Storage:Provider"] = "PostgreSql";
            settings["Storage:ConnectionString"] = await MailApi.Testing.Postgres.CreateDatabaseAsync();
        }
        return settings;
    }

    /// <summary>
    /// The service with a clock that stands still for <see cref="BusyWorkers"/>: no hand-off becomes overdue and no waiting
    /// job is forgotten (<see cref="BusyWorkers.Forgotten"/>), however slow the machine.
    /// </summary>
    private static MailApiFactory WithStandingClock(TestSmtpServer relay, Dictionary<string, string?> settings)
    {
        var clock = new ManualClock();
        return new MailApiFactory(relay.Port, settings)
        {
            TestServices = s => s.AddSingleton(p => new BusyWorkers(p.GetRequiredService<IOptions<DeliveryOptions>>(), clock)),
        };
    }

    /// <summary>A message whose dialogue the relay holds, then two more sent while it does.</summary>
    private static async Task<(Guid First, Guid[] Later)> SendWhileTheWorkerIsHeldAsync(HttpClient client, TestSmtpServer relay)
    {
        var first = Guid.Parse(await MailApiFactory.SendAsync(client, Bodies.Valid("r0@domain.local")));
        await relay.WaitForHeldRepliesAsync(1, Patience);
        Guid[] later =
        [
            Guid.Parse(await MailApiFactory.SendAsync(client, Bodies.Valid("r1@domain.local"))),
            Guid.Parse(await MailApiFactory.SendAsync(client, Bodies.Valid("r2@domain.local"))),
        ];
        return (first, later);
    }

    private static BusyWorkers NewBusyWorkers(int workers, TimeProvider clock) =>
        new(Microsoft.Extensions.Options.Options.Create(new DeliveryOptions { Workers = workers }), clock);

    /// <summary>
    /// A delivery job held in its dialogue by the relay: two more requests are answered at once and wait <c>queued</c>,
    /// handed to that job, whether or not another worker is free (the clock stands still, so none is overdue); once the
    /// relay answers, the running job delivers them too. Hangfire made one job for the three.
    /// </summary>
    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 1)]
    [InlineData(false, 2)]
    [InlineData(true, 2)]
    public async Task Requests_that_come_while_a_delivery_job_runs_are_answered_at_once_and_delivered_by_the_running_job(bool onPostgres, int workers)
    {
        await using var relay = await TestSmtpServer.StartAsync();
        relay.HoldFinalReplies();
        using var factory = WithStandingClock(relay, await WorkersAsync(onPostgres, workers));
        var client = factory.ClientFor();

        // The two later ones are answered while the job is held: neither waits for a worker nor for a job.
        var (first, later) = await SendWhileTheWorkerIsHeldAsync(client, relay);
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
    /// Two workers, the first message's dialogue held by the relay: the next message, handed to that job, does not wait
    /// for the relay to answer it. Once overdue it gets a job of its own, which the free worker runs: both dialogues are
    /// held at once.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_message_handed_to_a_job_held_in_a_slow_dialogue_gets_the_free_worker_once_overdue(bool onPostgres)
    {
        await using var relay = await TestSmtpServer.StartAsync();
        relay.HoldFinalReplies();
        using var factory = new MailApiFactory(relay.Port, await WorkersAsync(onPostgres, workers: 2));
        var client = factory.ClientFor();

        var first = await MailApiFactory.SendAsync(client, Bodies.Valid("r0@domain.local"));
        await relay.WaitForHeldRepliesAsync(1, Patience);
        var second = await MailApiFactory.SendAsync(client, Bodies.Valid("r1@domain.local"));
        try
        {
            await relay.WaitForHeldRepliesAsync(2, Patience);
        }
        finally
        {
            relay.ReleaseFinalReplies();
        }

        foreach (var id in (string[])[first, second])
        {
            var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, "sent");
            Assert.Single(message["attempts"]!.AsArray());
        }
        Assert.Equal(2, relay.Messages.Select(m => m.QueueId).Distinct().Count());
    }

    /// <summary>
    /// One worker, held in its dialogue, with two messages handed off to it; then another Hangfire job is enqueued (here the
    /// test's own, standing for a webhook or a due retry). As the only worker is busy, the running job leaves it to that job
    /// rather than taking the hand-offs, which get a job of their own behind it: while it holds the worker, both are still
    /// queued; after, each is sent once.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_job_enqueued_while_every_worker_is_busy_gets_the_worker_before_the_messages_handed_off_after_it(bool onPostgres)
    {
        await using var relay = await TestSmtpServer.StartAsync();
        relay.HoldFinalReplies();
        using var factory = WithStandingClock(relay, await WorkersAsync(onPostgres));
        var client = factory.ClientFor();

        var (first, handedOff) = await SendWhileTheWorkerIsHeldAsync(client, relay);
        var gate = HeldJob.Open();
        factory.Services.GetRequiredService<IBackgroundJobClient>().Enqueue(() => HeldJob.RunAsync(gate));
        relay.ReleaseFinalReplies();

        try
        {
            await MailApiFactory.WaitForStatusAsync(client, first.ToString(), Patience, "sent");
            await HeldJob.Started(gate).WaitAsync(Patience);
            var store = factory.Services.GetRequiredService<IMessageStore>();
            foreach (var id in handedOff)
            {
                Assert.Equal(MessageStatus.Queued, (await store.FindAsync(id, CancellationToken.None))!.Status);
            }
        }
        finally
        {
            HeldJob.Release(gate);
        }

        foreach (var id in handedOff)
        {
            var message = await MailApiFactory.WaitForStatusAsync(client, id.ToString(), Patience, "sent");
            Assert.Single(message["attempts"]!.AsArray());
        }
        Assert.Equal(3, relay.Messages.Select(m => m.QueueId).Distinct().Count());
    }

    /// <summary>A Hangfire job of the test's: it says when it starts, and holds its worker until the test releases it.</summary>
    public static class HeldJob
    {
        private static readonly ConcurrentDictionary<string, (TaskCompletionSource Started, TaskCompletionSource Released)> Gates = new();

        public static string Open()
        {
            var gate = Guid.NewGuid().ToString();
            Gates[gate] = (new(TaskCreationOptions.RunContinuationsAsynchronously), new(TaskCreationOptions.RunContinuationsAsynchronously));
            return gate;
        }

        public static Task Started(string gate) => Gates[gate].Started.Task;

        public static void Release(string gate) => Gates[gate].Released.TrySetResult();

        public static async Task RunAsync(string gate)
        {
            Gates[gate].Started.TrySetResult();
            await Gates[gate].Released.Task;
        }
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
