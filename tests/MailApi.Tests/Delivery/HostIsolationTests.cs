using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;

namespace MailApi.Tests.Delivery;

/// <summary>
/// Several hosts in one process (as the tests run them, in parallel) must not share Hangfire's statics:
/// each host's jobs run with its own services and its own store.
/// </summary>
public sealed class HostIsolationTests
{
    [Fact]
    public async Task Hosts_started_together_each_deliver_their_own_messages()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        for (var round = 0; round < 4; round++)
        {
            var factories = Enumerable.Range(0, 3).Select(_ => new MailApiFactory(relay.Port)).ToList();
            try
            {
                // Start the hosts at the same moment: Hangfire's JobActivator.Current is set by each one's start-up.
                var clients = await Task.WhenAll(factories.Select(f => Task.Run(() => f.ClientFor())));
                var ids = await Task.WhenAll(clients.Select(async c =>
                {
                    var response = await c.PostAsJsonAsync("/v1/messages", Bodies.Valid());
                    Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
                    return (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
                }));
                for (var i = 0; i < clients.Length; i++)
                {
                    var message = await MailApiFactory.WaitForStatusAsync(clients[i], ids[i], TimeSpan.FromSeconds(10), "sent", "failed", "deferred");
                    Assert.Equal("sent", (string?)message["status"]);
                }
            }
            finally
            {
                foreach (var factory in factories)
                {
                    await factory.DisposeAsync();
                }
            }
        }
        Assert.Equal(12, relay.Messages.Count);
    }
}
