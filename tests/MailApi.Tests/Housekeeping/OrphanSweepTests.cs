using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Hangfire;
using MailApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace MailApi.Tests.Housekeeping;

/// <summary>The orphan sweep queues again what has lost its job, and only that: a long queue is not queued twice.</summary>
public sealed class OrphanSweepTests
{
    [Fact]
    public async Task A_message_waiting_behind_a_busy_worker_is_not_queued_a_second_time_by_the_sweep()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        relay.HoldFinalReplies();
        using var factory = new MailApiFactory(relay.Port, new Dictionary<string, string?>
        {
            ["Smtp:Security"] = "None",
            ["Delivery:Workers"] = "1",
            ["Delivery:SweepInterval"] = "00:00:00.2",
            ["Delivery:HeartbeatInterval"] = "00:00:00.05",
        });
        var client = factory.ClientFor();
        var first = await MailApiFactory.SendAsync(client, Bodies.Valid("first@domain.local"));
        await relay.WaitForHeldRepliesAsync(1, TimeSpan.FromMinutes(1));
        var second = await MailApiFactory.SendAsync(client, Bodies.Valid("second@domain.local"));

        // The one worker is held in the first dialogue; the second message waits in the queue, handed to that running job
        // (no job of its own: it would only wait for the worker). Let it grow older than the sweep's lateness, then let
        // several sweeps pass.
        var queuedAt = DateTimeOffset.Parse((string)(await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{second}"))!["updatedAt"]!);
        await Poll.UntilAsync(() => DateTimeOffset.UtcNow > queuedAt + TimeSpan.FromSeconds(0.5), TimeSpan.FromMinutes(1), "the second message older than the sweep's lateness");
        var sweeps = Sweeps(factory);
        await Poll.UntilAsync(() => Sweeps(factory) >= sweeps + 3, TimeSpan.FromMinutes(1), "three more orphan sweeps");

        // The sweep never queued it (the first message may have been: a sweep between its POST and the moment the one
        // worker took it sees an idle queue, and a duplicate job is harmless).
        var jobs = factory.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        Assert.DoesNotContain(jobs.EnqueuedJobs("default", 0, 100), j => j.Value.Job?.Args[0] is Guid id && id.ToString() == second);
        Assert.DoesNotContain(factory.Logs.Lines, l => l.Contains("may have been lost") && l.Contains(second));

        relay.ReleaseFinalReplies();
        await MailApiFactory.WaitForStatusAsync(client, first, TimeSpan.FromMinutes(1), "sent");
        await MailApiFactory.WaitForStatusAsync(client, second, TimeSpan.FromMinutes(1), "sent");
        Assert.Equal(2, relay.Messages.Count);
    }

    private static int Sweeps(MailApiFactory factory) => factory.Logs.Lines.Count(l => l.Contains("Orphan sweep done"));

}
