using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Delivery;
using MailApi.Storage;
using MailApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace MailApi.Tests.Housekeeping;

/// <summary>A message left in <c>sending</c> is taken over, even when the instance that holds it is alive.</summary>
public sealed class TakeoverTests
{
    [Fact]
    public async Task A_message_this_live_instance_holds_without_a_job_is_taken_over_and_flagged()
    {
        await using var relay = await TestSmtpServer.StartAsync();
        using var factory = new MailApiFactory(relay.Port, new Dictionary<string, string?>
        {
            ["Smtp:Security"] = "None",
            ["Delivery:SweepInterval"] = "00:00:00.2",
        });
        var client = factory.ClientFor();
        var body = Bodies.Valid();
        body["sendAt"] = DateTimeOffset.UtcNow.AddDays(1);
        var response = await client.PostAsJsonAsync("/v1/messages", body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = Guid.Parse((string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!);

        // As a job that took the message and then ended without recording anything would leave it: "sending" on this
        // instance, whose heartbeat goes on, with no job holding it.
        var store = factory.Services.GetRequiredService<IMessageStore>();
        var self = factory.Services.GetRequiredService<WorkerIdentity>().Id;
        var stored = await store.FindAsync(id, CancellationToken.None);
        Assert.NotNull(await store.TryUpdateAsync(
            stored! with { Status = MessageStatus.Sending, Worker = self, SendAt = null, UpdatedAt = DateTimeOffset.UtcNow }, CancellationToken.None));

        var message = await MailApiFactory.WaitForStatusAsync(client, id.ToString(), TimeSpan.FromMinutes(1), "sent");
        var attempts = message["attempts"]!.AsArray();
        Assert.Equal(2, attempts.Count);
        Assert.StartsWith("Interrupted: the delivery job on this instance ended", (string?)attempts[0]!["error"]);
        Assert.True((bool)message["possibleDuplicate"]!);
        Assert.Single(relay.Messages);
    }
}
