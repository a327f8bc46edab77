using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Delivery;
using MailApi.Storage;
using MailApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace MailApi.Tests.Delivery;

/// <summary>A batch request is delivered by a few jobs, each message still on its own.</summary>
public sealed class BatchJobTests
{
    /// <summary>In memory a job costs next to nothing and a batch is spread over jobs of ten; on PostgreSQL it is one job.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_batch_of_25_is_three_jobs_in_memory_and_one_on_postgresql_and_every_message_gets_its_own_transaction_and_status(bool onPostgres)
    {
        await using var relay = await TestSmtpServer.StartAsync();
        relay.RejectRecipient("gone@domain.local");
        using var factory = new MailApiFactory(relay.Port, await SettingsAsync(onPostgres));
        var client = factory.ClientFor();
        var messages = new JsonArray(Enumerable.Range(0, 25)
            .Select(i => (JsonNode)Bodies.Valid(i == 7 ? "gone@domain.local" : $"r{i}@domain.local")).ToArray());

        var finals = await PostAndWaitForFinalAsync(factory, client, messages);

        Assert.Equal(onPostgres ? 1 : Math.Ceiling(25.0 / DeliveryOptions.MessagesPerJobInMemory),
            factory.Services.GetRequiredService<Hangfire.JobStorage>().GetMonitoringApi().SucceededListCount());
        Assert.Equal("failed", (string?)finals[7]["status"]);
        Assert.All(finals.Where((_, i) => i != 7), m => Assert.Equal("sent", (string?)m["status"]));
        Assert.Equal(24, relay.Messages.Count);
        Assert.Equal(24, relay.Messages.Select(m => m.QueueId).Distinct().Count());
        Assert.All(finals.Where((_, i) => i != 7), m => Assert.NotNull((string?)m["queueId"]));
    }

    /// <summary>
    /// A batch for later ("send these at nine") is as few jobs as a due one: the messages that share a <c>sendAt</c> are
    /// scheduled together, each still sent at its time with its own transaction and status. A message with a <c>sendAt</c>
    /// of its own gets a job of its own.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_batch_of_25_for_one_sendAt_is_as_few_jobs_as_a_due_batch_and_a_message_with_another_sendAt_has_its_own(bool onPostgres)
    {
        await using var relay = await TestSmtpServer.StartAsync();
        using var factory = new MailApiFactory(relay.Port, await SettingsAsync(onPostgres));
        var client = factory.ClientFor();
        // Far enough ahead that the batch is stored as scheduled even on a busy machine (else it would be due: fewer jobs).
        var sendAt = DateTimeOffset.UtcNow.AddSeconds(5);
        var messages = new JsonArray(Enumerable.Range(0, 26).Select(i =>
        {
            var body = Bodies.Valid($"r{i}@domain.local");
            body["sendAt"] = i == 25 ? sendAt.AddSeconds(1) : sendAt;
            return (JsonNode)body;
        }).ToArray());

        var finals = await PostAndWaitForFinalAsync(factory, client, messages);

        var jobsForTheBatch = onPostgres ? 1 : Math.Ceiling(25.0 / DeliveryOptions.MessagesPerJobInMemory);
        Assert.Equal(jobsForTheBatch + 1, factory.Services.GetRequiredService<Hangfire.JobStorage>().GetMonitoringApi().SucceededListCount());
        Assert.All(finals, m => Assert.Equal("sent", (string?)m["status"]));
        Assert.All(finals, m => Assert.True(DateTimeOffset.Parse((string)m["sentAt"]!) >= DateTimeOffset.Parse((string)m["sendAt"]!)));
        Assert.Equal(26, relay.Messages.Select(m => m.QueueId).Distinct().Count());
    }

    /// <summary>
    /// A job takes its queued messages in one write, then sends them one by one. Shutdown before their turn must not leave
    /// them "sending" on a stopped instance (the next one would take each over as an interrupted dialogue and flag it a
    /// possible duplicate, though nothing was sent): they go back to the queue untouched.
    /// </summary>
    [Fact]
    public async Task Messages_a_job_took_but_did_not_reach_before_shutdown_go_back_to_the_queue_untouched()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        using var factory = new MailApiFactory(relay.Port, new Dictionary<string, string?> { ["Smtp:Security"] = "None" });
        var client = factory.ClientFor();
        var store = factory.Services.GetRequiredService<IMessageStore>();
        // Three messages queued in the store with no job yet: scheduled far ahead, then made due by hand.
        var ids = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            var body = Bodies.Valid($"r{i}@domain.local");
            body["sendAt"] = DateTimeOffset.UtcNow.AddDays(1);
            var response = await client.PostAsJsonAsync("/v1/messages", body);
            var id = Guid.Parse((string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!);
            var stored = await store.FindAsync(id, CancellationToken.None);
            Assert.NotNull(await store.TryUpdateAsync(stored! with { Status = MessageStatus.Queued, SendAt = null, UpdatedAt = DateTimeOffset.UtcNow }, CancellationToken.None));
            ids.Add(id);
        }

        using (var scope = factory.Services.CreateScope())
        {
            using var shutdown = new CancellationTokenSource();
            await shutdown.CancelAsync();
            await scope.ServiceProvider.GetRequiredService<DeliveryJob>().RunManyAsync([.. ids], shutdown.Token);
        }

        foreach (var id in ids)
        {
            var stored = await store.FindAsync(id, CancellationToken.None);
            Assert.Equal(MessageStatus.Queued, stored!.Status);
            Assert.Null(stored.Worker);
            Assert.Empty(stored.Attempts);
        }
        Assert.Empty(relay.Messages);

        // And they are delivered as any queued message, once each and unflagged.
        await factory.Services.GetRequiredService<IDeliveryQueue>().EnqueueAsync(ids);
        foreach (var id in ids)
        {
            var message = await MailApiFactory.WaitForStatusAsync(client, id.ToString(), TimeSpan.FromMinutes(1), "sent");
            Assert.False((bool)message["possibleDuplicate"]!);
            Assert.Single(message["attempts"]!.AsArray());
        }
        Assert.Equal(3, relay.Messages.Count);
    }

    /// <summary>
    /// A job's next dialogue does not wait for the previous message's outcome to be written, yet that message stays
    /// <c>sending</c> here until its write commits, and the job ends only after it. The first outcome's write is held by a
    /// row lock of the test's own transaction, taken while the relay holds that message's final reply.
    /// </summary>
    [Fact]
    public async Task The_next_dialogue_of_a_job_goes_on_while_the_previous_outcome_is_written_and_the_job_ends_after_that_write()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        relay.HoldFinalReplies();
        var settings = await SettingsAsync(onPostgres: true);
        using var factory = new MailApiFactory(relay.Port, settings);
        var client = factory.ClientFor();
        var response = await client.PostAsJsonAsync("/v1/messages/batch",
            new JsonObject { ["messages"] = new JsonArray(Bodies.Valid("one@domain.local"), Bodies.Valid("two@domain.local")) });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var ids = (await response.Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray().Select(m => Guid.Parse((string)m!["id"]!)).ToList();
        await relay.WaitForHeldRepliesAsync(1, TimeSpan.FromMinutes(1));
        var first = relay.Messages[0].Recipients[0] == "one@domain.local" ? ids[0] : ids[1];
        var store = factory.Services.GetRequiredService<IMessageStore>();
        var jobs = factory.Services.GetRequiredService<Hangfire.JobStorage>().GetMonitoringApi();

        await using (var connection = new Npgsql.NpgsqlConnection(settings["Storage:ConnectionString"]!))
        {
            await connection.OpenAsync();
            await using var hold = await connection.BeginTransactionAsync();
            await using (var lockRow = new Npgsql.NpgsqlCommand("select 1 from mailapi_messages where id = $1 for update", connection, hold))
            {
                lockRow.Parameters.Add(new() { Value = first });
                await lockRow.ExecuteScalarAsync();
            }
            relay.ReleaseFinalReplies();

            await relay.WaitForMessagesAsync(2, TimeSpan.FromMinutes(1));
            Assert.Equal(MessageStatus.Sending, (await store.FindAsync(first, CancellationToken.None))!.Status);
            Assert.Equal(0, jobs.SucceededListCount());
            await hold.RollbackAsync();
        }

        foreach (var id in ids)
        {
            var message = await MailApiFactory.WaitForStatusAsync(client, id.ToString(), TimeSpan.FromMinutes(1), "sent");
            Assert.False((bool)message["possibleDuplicate"]!);
            Assert.Single(message["attempts"]!.AsArray());
        }
        await factory.WaitUntilIdleAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(1, jobs.SucceededListCount());
        Assert.Equal(2, relay.Messages.Count);
    }

    private static async Task<Dictionary<string, string?>> SettingsAsync(bool onPostgres)
    {
        var settings = new Dictionary<string, string?> { ["Smtp:Security"] = "None" };
        if (onPostgres)
        {
            settings["Storage:Provider"] = "PostgreSql";
            settings["Storage:ConnectionString"] = await MailApi.Testing.Postgres.CreateDatabaseAsync();
        }
        return settings;
    }

    /// <summary>POSTs the batch, then waits for each message's final status and for the workers to be idle.</summary>
    private static async Task<List<JsonObject>> PostAndWaitForFinalAsync(MailApiFactory factory, HttpClient client, JsonArray messages)
    {
        var response = await client.PostAsJsonAsync("/v1/messages/batch", new JsonObject { ["messages"] = messages });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var ids = (await response.Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray().Select(m => (string)m!["id"]!).ToList();
        var finals = new List<JsonObject>();
        foreach (var id in ids)
        {
            finals.Add(await MailApiFactory.WaitForStatusAsync(client, id, TimeSpan.FromMinutes(1), "sent", "failed"));
        }
        await factory.WaitUntilIdleAsync(TimeSpan.FromMinutes(1));
        return finals;
    }
}
