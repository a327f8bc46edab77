using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;

namespace MailApi.Tests.Storage;

/// <summary>The service on PostgreSQL: two instances on one database share the queue, the messages and the idempotency keys.</summary>
[Trait("Category", "PostgreSql")]
public sealed class PostgreSqlServiceTests
{
    private static Dictionary<string, string?> OnPostgres(string connectionString) => new()
    {
        ["Storage:Provider"] = "PostgreSql",
        ["Storage:ConnectionString"] = connectionString,
    };

    [Fact]
    public async Task Two_instances_share_the_queue_and_answer_for_each_others_messages()
    {
        var database = await Postgres.CreateDatabaseAsync();
        await using var relay = await TestSmtpServer.StartAsync();
        using var a = new MailApiFactory(relay.Port, OnPostgres(database));
        using var b = new MailApiFactory(relay.Port, OnPostgres(database));
        var clientA = a.ClientFor();
        var clientB = b.ClientFor();

        var ids = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            var response = await (i % 2 == 0 ? clientA : clientB).PostAsJsonAsync("/v1/messages", Bodies.Valid($"r{i}@domain.local"));
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            ids.Add((string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!);
        }
        foreach (var (id, i) in ids.Select((id, i) => (id, i)))
        {
            // Each status is read from the instance that did not take the message.
            var message = await MailApiFactory.WaitForStatusAsync(i % 2 == 0 ? clientB : clientA, id, TimeSpan.FromSeconds(30), "sent", "failed");
            Assert.Equal("sent", (string?)message["status"]);
        }

        await Task.Delay(500);
        Assert.Equal(20, relay.Messages.Count);
        Assert.Equal(20, relay.Messages.Select(m => m.Message.MessageId).Distinct().Count());
        var listed = await clientB.GetFromJsonAsync<JsonObject>("/v1/messages?limit=100");
        Assert.Equal(ids.AsEnumerable().Reverse(), listed!["items"]!.AsArray().Select(m => (string)m!["id"]!));
    }

    [Fact]
    public async Task The_same_idempotency_key_racing_on_two_instances_gives_one_message()
    {
        var database = await Postgres.CreateDatabaseAsync();
        await using var relay = await TestSmtpServer.StartAsync();
        using var a = new MailApiFactory(relay.Port, OnPostgres(database));
        using var b = new MailApiFactory(relay.Port, OnPostgres(database));
        var key = "race-" + Guid.NewGuid();

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = JsonContent.Create(Bodies.Valid()) };
            request.Headers.Add("Idempotency-Key", key);
            return (i % 2 == 0 ? a : b).ClientFor().SendAsync(request);
        }));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        var ids = await Task.WhenAll(responses.Select(async r => (string)(await r.Content.ReadFromJsonAsync<JsonObject>())!["id"]!));
        Assert.Single(ids.Distinct());
        await MailApiFactory.WaitForStatusAsync(a.ClientFor(), ids[0], TimeSpan.FromSeconds(30), "sent");
        await Task.Delay(500);
        Assert.Single(relay.Messages);
    }

    [Fact]
    public async Task Readiness_reports_the_database()
    {
        var database = await Postgres.CreateDatabaseAsync();
        using var factory = new MailApiFactory(FreePort.Get(), OnPostgres(database));

        var ready = await factory.CreateClient().GetFromJsonAsync<JsonObject>("/health/ready");

        Assert.Equal("healthy", (string?)ready!["status"]);
    }
}
