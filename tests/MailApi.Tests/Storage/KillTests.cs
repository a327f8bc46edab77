using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;

namespace MailApi.Tests.Storage;

/// <summary>
/// At-least-once under a crash: two instances on one PostgreSQL database, one killed with SIGKILL while hundreds of
/// messages are in flight, then restarted. Every accepted message arrives at the relay; a message arrives twice only
/// when its resource says <c>possibleDuplicate</c>. A webhook endpoint subscribed to every event gets every event of
/// every message at least once, the kill notwithstanding.
/// </summary>
[Trait("Category", "PostgreSql")]
public sealed class KillTests
{
    private const int Messages = 300;
    private const string Key = "kill-test-key";

    [Fact]
    public async Task Killing_an_instance_mid_flight_loses_nothing_and_duplicates_only_what_it_flags()
    {
        var database = await Postgres.CreateDatabaseAsync();
        await using var relay = await TestSmtpServer.StartAsync();
        using var receiver = new WebhookReceiver();
        receiver.Server.Given(WireMock.RequestBuilders.Request.Create().WithPath("/hook").UsingPost())
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(204));
        // A slow final reply keeps dialogues open, so the kill lands in the middle of some.
        relay.DelayFinalReply(TimeSpan.FromMilliseconds(300));
        var settings = new Dictionary<string, string>
        {
            ["Storage__Provider"] = "PostgreSql",
            ["Storage__ConnectionString"] = database,
            ["Smtp__Host"] = "127.0.0.1",
            ["Smtp__Port"] = relay.Port.ToString(),
            ["Smtp__Security"] = "None",
            ["Smtp__Timeout"] = "00:00:10",
            ["Delivery__Workers"] = "8",
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
        using var b = await ServiceProcess.StartAsync(portB, Key, settings, Path.Combine(logs, "b.log"));
        var ids = new List<string>();
        try
        {
            var hook = await b.Client.PostAsJsonAsync("/v1/webhooks", new JsonObject { ["url"] = receiver.Url() });
            Assert.Equal(HttpStatusCode.Created, hook.StatusCode);
            for (var batch = 0; batch < Messages / 50; batch++)
            {
                var messages = new JsonArray(Enumerable.Range(0, 50).Select(i => (JsonNode)Bodies.Valid($"k{batch}-{i}@domain.local")).ToArray());
                var response = await (batch % 2 == 0 ? a : b).Client.PostAsJsonAsync("/v1/messages/batch", new JsonObject { ["messages"] = messages });
                Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
                ids.AddRange((await response.Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray().Select(m => (string)m!["id"]!));
            }

            await relay.WaitForMessagesAsync(Messages / 10, TimeSpan.FromSeconds(60));
            a.Kill();
            var deliveredAtKill = relay.Messages.Count;
            a.Dispose();
            a = await ServiceProcess.StartAsync(portA, Key, settings, Path.Combine(logs, "a-restarted.log"));

            var finals = new Dictionary<string, JsonObject>();
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (finals.Count < ids.Count && DateTime.UtcNow < deadline)
            {
                foreach (var id in ids.Where(id => !finals.ContainsKey(id)).ToList())
                {
                    var message = await b.Client.GetFromJsonAsync<JsonObject>($"/v1/messages/{id}");
                    if ((string?)message!["status"] is "sent" or "failed" or "partially_sent")
                    {
                        finals[id] = message;
                    }
                }
                await Task.Delay(500);
            }

            Assert.True(finals.Count == ids.Count, $"{ids.Count - finals.Count} of {ids.Count} messages did not reach a final status; logs in {logs}");
            Assert.All(finals.Values, m => Assert.Equal("sent", (string?)m["status"]));
            var arrivals = relay.Messages.GroupBy(m => "<" + m.Message.MessageId + ">").ToDictionary(g => g.Key, g => g.Count());
            var flagged = finals.Values.Where(m => (bool)m["possibleDuplicate"]!).Select(m => (string)m["messageId"]!).ToHashSet();
            Assert.All(finals.Values, m => Assert.True(arrivals.ContainsKey((string)m["messageId"]!), $"{m["id"]} never reached the relay"));
            var duplicates = arrivals.Where(x => x.Value > 1).Select(x => x.Key).ToList();
            Assert.All(duplicates, d => Assert.Contains(d, flagged));
            Assert.True(deliveredAtKill < Messages, "the kill came after every message was delivered; it proved nothing");

            // Every event of every message reached the receiver at least once (by message id and sequence).
            var expected = new HashSet<(string, int)>();
            foreach (var id in ids)
            {
                var events = (await b.Client.GetFromJsonAsync<JsonObject>($"/v1/messages/{id}/events"))!["items"]!.AsArray();
                Assert.NotEmpty(events);
                expected.UnionWith(events.Select(e => (id, (int)e!["data"]!["sequence"]!)));
            }
            var hookDeadline = DateTime.UtcNow.AddSeconds(90);
            var missing = expected.Count;
            while (DateTime.UtcNow < hookDeadline)
            {
                var received = receiver.Requests().Select(r => r.Json["data"]!).Select(d => ((string)d["id"]!, (int)d["sequence"]!)).ToHashSet();
                missing = expected.Count(e => !received.Contains(e));
                if (missing == 0)
                {
                    break;
                }
                await Task.Delay(500);
            }
            Assert.True(missing == 0, $"{missing} of {expected.Count} events never reached the webhook receiver; logs in {logs}");
            TestContext.Current.SendDiagnosticMessage(
                $"Kill test: {Messages} accepted, {deliveredAtKill} at the relay when A was killed, {arrivals.Count} distinct arrived, "
                + $"{duplicates.Count} arrived twice, {flagged.Count} flagged possibleDuplicate; {expected.Count} events, "
                + $"{receiver.Requests().Count} webhook requests.");
            File.WriteAllText(Path.Combine(Path.GetTempPath(), "mailapi-kill-test.txt"),
                $"accepted={Messages} atKill={deliveredAtKill} distinct={arrivals.Count} duplicates={duplicates.Count} flagged={flagged.Count} "
                + $"events={expected.Count} webhookRequests={receiver.Requests().Count}\n");
        }
        finally
        {
            a.Dispose();
        }
    }
}
