using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;
using Npgsql;

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

    /// <summary>Two instances as two processes, as they run in production (one database, nothing else shared).</summary>
    private static async Task<(ServiceProcess A, ServiceProcess B)> TwoInstancesAsync(string database, int relayPort)
    {
        var settings = new Dictionary<string, string>
        {
            ["Storage__Provider"] = "PostgreSql",
            ["Storage__ConnectionString"] = database,
            ["Smtp__Host"] = "127.0.0.1",
            ["Smtp__Port"] = relayPort.ToString(),
            ["Smtp__Security"] = "None",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        var logs = Directory.CreateTempSubdirectory("mailapi-two-").FullName;
        var a = await ServiceProcess.StartAsync(FreePort.Get(), Key, settings, Path.Combine(logs, "a.log"));
        try
        {
            return (a, await ServiceProcess.StartAsync(FreePort.Get(), Key, settings, Path.Combine(logs, "b.log")));
        }
        catch
        {
            // The first instance must not outlive a test whose second one never started.
            a.Dispose();
            throw;
        }
    }

    private const string Key = "two-instances-key";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Two_instances_share_the_queue_and_answer_for_each_others_messages()
    {
        var database = await Postgres.CreateDatabaseAsync();
        await using var relay = await TestSmtpServer.StartAsync();
        var (a, b) = await TwoInstancesAsync(database, relay.Port);
        using var _ = a;
        using var __ = b;

        var ids = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            var response = await (i % 2 == 0 ? a : b).Client.PostAsJsonAsync("/v1/messages", Bodies.Valid($"r{i}@domain.local"));
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            ids.Add((string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!);
        }
        foreach (var (id, i) in ids.Select((id, i) => (id, i)))
        {
            // Each status is read from the instance that did not take the message.
            var message = await MailApiFactory.WaitForStatusAsync(i % 2 == 0 ? b.Client : a.Client, id, Patience, "sent", "failed");
            Assert.Equal("sent", (string?)message["status"]);
        }

        // Every message is final, and a relay keeps each copy before it says 250: all copies are in.
        Assert.Equal(20, relay.Messages.Count);
        Assert.Equal(20, relay.Messages.Select(m => m.Message.MessageId).Distinct().Count());
        var listed = await b.Client.GetFromJsonAsync<JsonObject>("/v1/messages?limit=100");
        Assert.Equal(ids.AsEnumerable().Reverse(), listed!["items"]!.AsArray().Select(m => (string)m!["id"]!));
    }

    [Fact]
    public async Task The_same_idempotency_key_racing_on_two_instances_gives_one_message()
    {
        var database = await Postgres.CreateDatabaseAsync();
        await using var relay = await TestSmtpServer.StartAsync();
        var (a, b) = await TwoInstancesAsync(database, relay.Port);
        using var _ = a;
        using var __ = b;
        var key = "race-" + Guid.NewGuid();

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = JsonContent.Create(Bodies.Valid()) };
            request.Headers.Add("Idempotency-Key", key);
            return (i % 2 == 0 ? a : b).Client.SendAsync(request);
        }));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        var ids = await Task.WhenAll(responses.Select(async r => (string)(await r.Content.ReadFromJsonAsync<JsonObject>())!["id"]!));
        Assert.Single(ids.Distinct());
        await MailApiFactory.WaitForStatusAsync(a.Client, ids[0], Patience, "sent");
        Assert.Single(relay.Messages);
    }

    /// <summary>
    /// Npgsql's pools default to 100 connections each, and an instance has two (the store's and Hangfire's): two instances
    /// under load asked PostgreSQL for more than its default max_connections of 100 and got "53300: too many clients". With
    /// <c>Storage:MaxConnections</c> the instance stays within its share, and requests beyond it wait for a connection.
    /// </summary>
    [Fact]
    public async Task An_instance_under_load_opens_no_more_connections_than_its_setting_and_every_request_still_succeeds()
    {
        var database = await Postgres.CreateDatabaseAsync();
        await using var relay = await TestSmtpServer.StartAsync();
        var settings = OnPostgres(database);
        settings["Storage:MaxConnections"] = "6";
        settings["Delivery:Workers"] = "8";
        settings["Smtp:Security"] = "None";
        using var factory = new MailApiFactory(relay.Port, settings);
        var client = factory.ClientFor(MailApiFactory.BetaKey);

        var responses = await Task.WhenAll(Enumerable.Range(0, 48).Select(i => client.PostAsJsonAsync("/v1/messages", Bodies.Valid($"r{i}@domain.local"))));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        var ids = await Task.WhenAll(responses.Select(async r => (string)(await r.Content.ReadFromJsonAsync<JsonObject>())!["id"]!));
        foreach (var id in ids)
        {
            Assert.Equal("sent", (string?)(await MailApiFactory.WaitForStatusAsync(client, id, Patience, "sent", "failed"))["status"]);
        }

        // Idle pooled connections stay open for a while (10 s here), so the count now is at least the most that were open.
        await using var server = NpgsqlDataSource.Create(Postgres.ServerConnectionString!);
        await using var count = server.CreateCommand("select count(*) from pg_stat_activity where datname = $1");
        count.Parameters.Add(new() { Value = new NpgsqlConnectionStringBuilder(database).Database });
        var open = (long)(await count.ExecuteScalarAsync())!;
        Assert.InRange(open, 1, 6);
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
