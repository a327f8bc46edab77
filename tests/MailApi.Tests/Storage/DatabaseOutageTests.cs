using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace MailApi.Tests.Storage;

/// <summary>
/// PostgreSQL goes away for a while and comes back, the service left running, as an operator meets it: requests meanwhile
/// answer 503 and store nothing, every message answered 202 still reaches a final status, and what the relay said in a
/// dialogue that spanned the outage is recorded.
/// </summary>
[Trait("Category", "PostgreSql")]
public sealed class DatabaseOutageTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    private static MailApiFactory Service(PrivatePostgres database, TestSmtpServer relay) => new(relay.Port, new Dictionary<string, string?>
    {
        ["Storage:Provider"] = "PostgreSql",
        ["Storage:ConnectionString"] = database.ConnectionString,
        ["Smtp:Security"] = "None",
        ["Smtp:Pool:Enabled"] = "false",
        ["Delivery:HeartbeatInterval"] = "00:00:00.5",
        ["Delivery:InstanceTimeout"] = "00:00:05",
        ["Delivery:SweepInterval"] = "00:00:01",
    });

    [Fact]
    public async Task While_the_database_is_down_requests_answer_503_with_retry_after_and_store_nothing()
    {
        await using var database = await PrivatePostgres.StartAsync();
        await using var relay = await TestSmtpServer.StartAsync();
        using var factory = Service(database, relay);
        var client = factory.ClientFor();
        var before = await AcceptedIdAsync(await client.PostAsJsonAsync("/v1/messages", Body("before")));
        await MailApiFactory.WaitForStatusAsync(client, before, Patience, "sent");

        await database.StopAsync();
        for (var i = 0; i < 5; i++)
        {
            var refused = await client.PostAsJsonAsync("/v1/messages", Body($"during {i}"));
            await AssertUnavailableAsync(refused);
        }
        await AssertUnavailableAsync(await client.GetAsync($"/v1/messages/{before}"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/health/ready")).StatusCode);
        Assert.DoesNotContain(factory.Logs.Lines, l => l.StartsWith("Error Microsoft.AspNetCore.Diagnostics", StringComparison.Ordinal));

        await database.StartAgainAsync();
        var after = await PostUntilAcceptedAsync(client, Body("after"));
        await MailApiFactory.WaitForStatusAsync(client, after, Patience, "sent");

        var listed = await client.GetFromJsonAsync<JsonObject>("/v1/messages?limit=100");
        Assert.Equal([after, before], listed!["items"]!.AsArray().Select(m => (string)m!["id"]!));
        Assert.Equal(["before", "after"], relay.Messages.Select(m => m.Message.Subject));
    }

    [Fact]
    public async Task An_outage_in_the_middle_of_a_dialogue_still_records_the_relays_reply_and_sends_once()
    {
        await using var database = await PrivatePostgres.StartAsync();
        await using var relay = await TestSmtpServer.StartAsync();
        using var factory = Service(database, relay);
        var client = factory.ClientFor();
        relay.HoldFinalReplies();

        var id = await AcceptedIdAsync(await client.PostAsJsonAsync("/v1/messages", Bodies.Valid()));
        await relay.WaitForMessagesAsync(1, Patience);
        await database.StopAsync();
        relay.ReleaseFinalReplies();
        // The job has the relay's "250 queued as" and cannot write it: it keeps trying rather than dropping it.
        await Poll.UntilAsync(() => factory.Logs.Lines.Any(l => l.Contains($"Recording attempt 1 of message {id} failed", StringComparison.Ordinal)),
            Patience, "the job's failed attempt to record the reply");
        await database.StartAgainAsync();

        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, "sent", "failed", "partially_sent");
        var copy = Assert.Single(relay.Messages);
        Assert.Equal("sent", (string?)message["status"]);
        Assert.Equal(copy.QueueId, (string?)message["queueId"]);
        Assert.Equal(copy.ReplyText, $"{message["finalReply"]!["enhancedCode"]} {message["finalReply"]!["text"]}");
        Assert.Single(message["attempts"]!.AsArray());
        Assert.False((bool)message["possibleDuplicate"]!);
    }

    [Fact]
    public async Task A_message_left_sending_by_a_job_that_ended_in_the_outage_is_taken_over_and_flagged_when_sent_again()
    {
        await using var database = await PrivatePostgres.StartAsync();
        await using var relay = await TestSmtpServer.StartAsync();
        using var factory = Service(database, relay);
        var client = factory.ClientFor();
        relay.HoldFinalReplies();

        var id = await AcceptedIdAsync(await client.PostAsJsonAsync("/v1/messages", Bodies.Valid()));
        await relay.WaitForMessagesAsync(1, Patience);
        await database.StopAsync();
        // The service stops its workers while the job waits to record the reply: the job gives up, the message stays
        // "sending" on this instance, and no job holds it.
        var lifetime = factory.Services.GetRequiredService<IHostApplicationLifetime>();
        var stopped = new TaskCompletionSource();
        lifetime.ApplicationStopped.Register(stopped.SetResult);
        lifetime.StopApplication();
        relay.ReleaseFinalReplies();
        await stopped.Task.WaitAsync(Patience);
        await database.StartAgainAsync();

        // Another instance on the same database (its own process, as in production) takes it over once the first is silent.
        using var second = await ServiceProcess.StartAsync(FreePort.Get(), MailApiFactory.AlphaKey, new Dictionary<string, string>
        {
            ["Auth__ApiKeys__0__Name"] = "alpha",
            ["Storage__Provider"] = "PostgreSql",
            ["Storage__ConnectionString"] = database.ConnectionString,
            ["Smtp__Host"] = "127.0.0.1",
            ["Smtp__Port"] = relay.Port.ToString(),
            ["Smtp__Security"] = "None",
            ["Delivery__InstanceTimeout"] = "00:00:05",
            ["Delivery__HeartbeatInterval"] = "00:00:00.5",
            ["Delivery__SweepInterval"] = "00:00:01",
        }, Path.Combine(Path.GetTempPath(), $"mailapi-outage-{id}.log"));
        var message = await MailApiFactory.WaitForStatusAsync(second.Client, id, Patience, "sent", "failed");
        Assert.Equal("sent", (string?)message["status"]);
        Assert.True((bool)message["possibleDuplicate"]!);
        Assert.StartsWith("Interrupted: the instance ", (string?)message["attempts"]![0]!["error"]);
        Assert.Equal(2, relay.Messages.Count);
    }

    private static JsonObject Body(string subject)
    {
        var body = Bodies.Valid();
        body["subject"] = subject;
        return body;
    }

    private static async Task AssertUnavailableAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter!.Delta);
        var problem = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal("Storage unavailable", (string?)problem!["title"]);
        Assert.Equal(503, (int)problem["status"]!);
    }

    private static async Task<string> AcceptedIdAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
    }

    /// <summary>Posts as a client that honours Retry-After would, until the message is accepted.</summary>
    private static async Task<string> PostUntilAcceptedAsync(HttpClient client, object body)
    {
        HttpResponseMessage? response = null;
        await Poll.UntilAsync(async () =>
        {
            response = await client.PostAsJsonAsync("/v1/messages", body);
            Assert.True(response.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.ServiceUnavailable, $"{response.StatusCode}");
            return response.StatusCode == HttpStatusCode.Accepted;
        }, Patience, () => "a 202 to the POST");
        return await AcceptedIdAsync(response!);
    }
}
