using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;

namespace MailApi.Tests.Suppressions;

/// <summary>
/// Two instances on one PostgreSQL database keep one suppression list: what one learns, the other obeys; soft bounces
/// each takes at the same time add up.
/// </summary>
[Trait("Category", "PostgreSql")]
public sealed class SuppressionInstancesTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Two_instances_on_one_database_agree_on_the_list()
    {
        var database = await Postgres.CreateDatabaseAsync();
        await using var relay = await TestSmtpServer.StartAsync();
        relay.RejectRecipient("gone@domain.local");
        var settings = new Dictionary<string, string?> { ["Storage:Provider"] = "PostgreSql", ["Storage:ConnectionString"] = database };
        using var a = new MailApiFactory(relay.Port, settings);
        using var b = new MailApiFactory(relay.Port, settings);
        var onA = a.ClientFor();
        var onB = b.ClientFor();

        // B learns from the relay that the address does not exist; A obeys.
        var first = await (await onB.PostAsJsonAsync("/v1/messages", Bodies.Valid("gone@domain.local"))).Content.ReadFromJsonAsync<JsonObject>();
        await MailApiFactory.WaitForStatusAsync(onB, (string)first!["id"]!, Patience, "failed");
        await Poll.UntilAsync(async () => (await onA.GetAsync("/v1/suppressions/gone@domain.local")).IsSuccessStatusCode, Patience,
            () => "instance A to see the entry instance B made");
        var second = await (await onA.PostAsJsonAsync("/v1/messages", Bodies.Valid("gone@domain.local"))).Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal("suppressed", (string?)second!["recipients"]![0]!["status"]);

        // A puts an address on the list by hand; B obeys. A removes it; B mails it again.
        Assert.Equal(HttpStatusCode.Created, (await onA.PutAsJsonAsync("/v1/suppressions/later@domain.local", new JsonObject())).StatusCode);
        var third = await (await onB.PostAsJsonAsync("/v1/messages", Bodies.Valid("later@domain.local"))).Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal("failed", (string?)third!["status"]);
        Assert.Equal(HttpStatusCode.NoContent, (await onA.DeleteAsync("/v1/suppressions/later@domain.local")).StatusCode);
        var fourth = await (await onB.PostAsJsonAsync("/v1/messages", Bodies.Valid("later@domain.local"))).Content.ReadFromJsonAsync<JsonObject>();
        await MailApiFactory.WaitForStatusAsync(onB, (string)fourth!["id"]!, Patience, "sent");
        Assert.Contains(relay.Messages, m => m.Recipients.SequenceEqual(["later@domain.local"]));
    }

    [Fact]
    public async Task Two_instances_counting_soft_bounces_at_once_lose_no_count()
    {
        const int count = 8;
        var database = await Postgres.CreateDatabaseAsync();
        await using var relay = await TestSmtpServer.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "PostgreSql",
            ["Storage:ConnectionString"] = database,
            ["Auth:ApiKeys:0:Bounces"] = "true",
            ["Suppressions:SoftBouncesBeforeSuppress"] = $"{count}",
        };
        using var a = new MailApiFactory(relay.Port, settings);
        using var b = new MailApiFactory(relay.Port, settings);
        var onA = a.ClientFor();
        var onB = b.ClientFor();
        var sent = await SoftBounceContract.SentToBobAsync(onA, count);

        // Half the reports to each instance, all at once: one lost count leaves the address one short of suppressed.
        await Task.WhenAll(sent.Select((message, i) => SoftBounceContract.PostAsync(i % 2 == 0 ? onA : onB, SoftBounceContract.Dsn("soft", message))));

        Assert.Equal("soft_bounce", (string?)(await SoftBounceContract.EntryAsync(onA))?["reason"]);
        Assert.Equal("soft_bounce", (string?)(await SoftBounceContract.EntryAsync(onB))?["reason"]);
    }
}
