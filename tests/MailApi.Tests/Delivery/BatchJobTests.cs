using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Delivery;
using MailApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace MailApi.Tests.Delivery;

/// <summary>A batch request is delivered by a few jobs, each message still on its own.</summary>
public sealed class BatchJobTests
{
    [Fact]
    public async Task A_batch_of_25_is_three_jobs_and_every_message_gets_its_own_transaction_and_status()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        relay.RejectRecipient("gone@domain.local");
        using var factory = new MailApiFactory(relay.Port, new Dictionary<string, string?> { ["Smtp:Security"] = "None" });
        var client = factory.ClientFor();
        var messages = new JsonArray(Enumerable.Range(0, 25)
            .Select(i => (JsonNode)Bodies.Valid(i == 7 ? "gone@domain.local" : $"r{i}@domain.local")).ToArray());

        var response = await client.PostAsJsonAsync("/v1/messages/batch", new JsonObject { ["messages"] = messages });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var ids = (await response.Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray().Select(m => (string)m!["id"]!).ToList();
        var finals = new List<JsonObject>();
        foreach (var id in ids)
        {
            finals.Add(await MailApiFactory.WaitForStatusAsync(client, id, TimeSpan.FromMinutes(1), "sent", "failed"));
        }
        await factory.WaitUntilIdleAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(Math.Ceiling(25.0 / DeliveryJob.MessagesPerJob),
            factory.Services.GetRequiredService<Hangfire.JobStorage>().GetMonitoringApi().SucceededListCount());
        Assert.Equal("failed", (string?)finals[7]["status"]);
        Assert.All(finals.Where((_, i) => i != 7), m => Assert.Equal("sent", (string?)m["status"]));
        Assert.Equal(24, relay.Messages.Count);
        Assert.Equal(24, relay.Messages.Select(m => m.QueueId).Distinct().Count());
        Assert.All(finals.Where((_, i) => i != 7), m => Assert.NotNull((string?)m["queueId"]));
    }
}
