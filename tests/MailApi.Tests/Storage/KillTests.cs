using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;

namespace MailApi.Tests.Storage;

/// <summary>
/// At-least-once under a crash: two instances on one PostgreSQL database, one killed with SIGKILL while its dialogues
/// wait for the relay's final reply, then restarted. Every accepted message arrives at the relay; a message arrives
/// twice only when its resource says <c>possibleDuplicate</c>. The relay holds its final replies until the test
/// releases them, so the kill lands mid-flight however fast or slow the machine is. A webhook endpoint subscribed to
/// every event gets every event of every message at least once, the kill notwithstanding.
/// </summary>
[Trait("Category", "PostgreSql")]
public sealed class KillTests
{
    private const int Messages = 300;
    private const int Workers = 8;
    private const string Key = "kill-test-key";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Killing_an_instance_mid_flight_loses_nothing_and_duplicates_only_what_it_flags()
    {
        var database = await Postgres.CreateDatabaseAsync();
        await using var relay = await TestSmtpServer.StartAsync();
        relay.HoldFinalReplies();
        using var receiver = new WebhookReceiver();
        receiver.Server.Given(WireMock.RequestBuilders.Request.Create().WithPath("/hook").UsingPost())
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(204));
        var settings = new Dictionary<string, string>
        {
            ["Storage__Provider"] = "PostgreSql",
            ["Storage__ConnectionString"] = database,
            ["Smtp__Host"] = "127.0.0.1",
            ["Smtp__Port"] = relay.Port.ToString(),
            ["Smtp__Security"] = "None",
            // Longer than any hold of the test: a held dialogue ends by the release or the kill, never by a timeout.
            ["Smtp__Timeout"] = "00:05:00",
            ["Delivery__Workers"] = Workers.ToString(),
            // Jobs of ten, so the six batches keep every worker of both instances busy (on PostgreSQL a batch is one job).
            ["Delivery__MessagesPerJob"] = "10",
            ["Delivery__RetryDelays__0"] = "00:00:01",
            ["Delivery__RetryDelays__1"] = "00:00:02",
            ["Delivery__RetryDelays__2"] = "00:00:03",
            ["Delivery__HeartbeatInterval"] = "00:00:01",
            ["Delivery__InstanceTimeout"] = "00:00:05",
            ["Delivery__SweepInterval"] = "00:00:03",
            ["Webhooks__AllowHttp"] = "true",
            ["Webhooks__AllowPrivateTargets"] = "true",
            ["Webhooks__SweepInterval"] = "00:00:03",
            ["Webhooks__RetryDelays__0"] = "00:00:01",
            ["Webhooks__RetryDelays__1"] = "00:00:01",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        var logs = Directory.CreateTempSubdirectory("mailapi-kill-").FullName;
        var (portA, portB) = (FreePort.Get(), FreePort.Get());
        var a = await ServiceProcess.StartAsync(portA, Key, settings, Path.Combine(logs, "a.log"));
        var ids = new List<string>();
        try
        {
            using var b = await ServiceProcess.StartAsync(portB, Key, settings, Path.Combine(logs, "b.log"));
            var hook = await b.Client.PostAsJsonAsync("/v1/webhooks", new JsonObject { ["url"] = receiver.Url() });
            Assert.Equal(HttpStatusCode.Created, hook.StatusCode);
            for (var batch = 0; batch < Messages / 50; batch++)
            {
                var messages = new JsonArray(Enumerable.Range(0, 50).Select(i => (JsonNode)Bodies.Valid($"k{batch}-{i}@domain.local")).ToArray());
                var response = await (batch % 2 == 0 ? a : b).Client.PostAsJsonAsync("/v1/messages/batch", new JsonObject { ["messages"] = messages });
                Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
                ids.AddRange((await response.Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray().Select(m => (string)m!["id"]!));
            }

            // Every worker of both instances waits for its "250 queued as": a first share is let through, and the
            // dialogues after it are held again; then A dies with its whole share of the next ones unanswered.
            await relay.WaitForHeldRepliesAsync(2 * Workers, Patience);
            relay.ReleaseFinalReplies();
            relay.HoldFinalReplies();
            await relay.WaitForHeldRepliesAsync(2 * Workers, Patience);
            a.Kill();
            var takenAtKill = relay.Messages.Count;
            relay.ReleaseFinalReplies();
            a.Dispose();
            a = await ServiceProcess.StartAsync(portA, Key, settings, Path.Combine(logs, "a-restarted.log"));

            var finals = await WaitForFinalAsync(b.Client, ids);

            Assert.All(finals, m => Assert.Equal("sent", (string?)m["status"]));
            var arrivals = relay.Messages.GroupBy(m => "<" + m.Message.MessageId + ">").ToDictionary(g => g.Key, g => g.Count());
            var flagged = finals.Where(m => (bool)m["possibleDuplicate"]!).Select(m => (string)m["messageId"]!).ToHashSet();
            Assert.All(finals, m => Assert.True(arrivals.ContainsKey((string)m["messageId"]!), $"{m["id"]} never reached the relay"));
            var duplicates = arrivals.Where(x => x.Value > 1).Select(x => x.Key).ToList();
            Assert.All(duplicates, d => Assert.Contains(d, flagged));
            // A's held dialogues had sent their data and never heard the 250: those messages went out again.
            Assert.NotEmpty(duplicates);

            // Every event of every message reached the webhook receiver at least once (by message id and sequence).
            var expected = new HashSet<(string, int)>();
            foreach (var id in ids)
            {
                var events = (await b.Client.GetFromJsonAsync<JsonObject>($"/v1/messages/{id}/events"))!["items"]!.AsArray();
                Assert.NotEmpty(events);
                expected.UnionWith(events.Select(e => (id, (int)e!["data"]!["sequence"]!)));
            }
            int Missing() => expected.Except(receiver.Requests().Select(r => r.Json["data"]!).Select(d => ((string)d["id"]!, (int)d["sequence"]!))).Count();
            await Poll.UntilAsync(() => Missing() == 0, Patience, $"every one of {expected.Count} events at the webhook receiver (logs in {logs})");
            TestContext.Current.SendDiagnosticMessage(
                $"Kill test: {Messages} accepted, {takenAtKill} taken by the relay when A was killed ({2 * Workers} of them unanswered), "
                + $"{arrivals.Count} distinct arrived, {duplicates.Count} arrived twice, {flagged.Count} flagged possibleDuplicate; "
                + $"{expected.Count} events, {receiver.Requests().Count} webhook requests.");
        }
        finally
        {
            a.Dispose();
        }
    }

    /// <summary>Each message once it is final (sent, failed or partially sent), read from <paramref name="client"/>.</summary>
    private static async Task<IReadOnlyList<JsonObject>> WaitForFinalAsync(HttpClient client, IReadOnlyList<string> ids)
    {
        var finals = new List<JsonObject>();
        foreach (var id in ids)
        {
            finals.Add(await MailApiFactory.WaitForStatusAsync(client, id, Patience, "sent", "failed", "partially_sent"));
        }
        return finals;
    }
}
