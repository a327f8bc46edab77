using System.Text.Json.Nodes;
using MailApi.Delivery;
using MailApi.Storage;
using MailApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static MailApi.Tests.Delivery.RelayDialogue;

namespace MailApi.Tests.Delivery.Smtp;

/// <summary>
/// What the fault-matrix tests share: the settings (a first retry the test makes due, later ones 1 s apart, a 2 s command
/// timeout), and the "fault, then a healthy relay on the same port" run that shows a transient fault loses nothing and
/// sends nothing twice.
/// </summary>
internal static class FaultMatrix
{
    public const string Category = "FaultMatrix";

    /// <summary>
    /// Short timeout and retries; the first retry is planned an hour out, so it waits for the test to swap the faulty relay
    /// for a healthy one, however long that takes, and to make it due (<see cref="FaultThenHealthyAsync"/>).
    /// </summary>
    public static Dictionary<string, string?> Settings(IDictionary<string, string?>? changes = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Smtp:Security"] = "None",
            ["Smtp:Timeout"] = "00:00:02",
            ["Delivery:RetryDelays:0"] = "01:00:00",
            ["Delivery:RetryDelays:1"] = "00:00:01",
            ["Delivery:RetryDelays:2"] = "00:00:01",
            // Each attempt on its own connection, ended by QUIT (where connection reuse exists, Smtp:Pool; the key is
            // ignored where it does not): a fault then belongs to one attempt, and its transcript is whole.
            ["Smtp:Pool:Enabled"] = "false",
        };
        foreach (var (key, value) in changes ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        return settings;
    }

    /// <summary>The outcome of a message that met a fault first and a healthy relay on its retry.</summary>
    public sealed record Recovery(JsonObject First, JsonObject Final);

    /// <summary>
    /// Sends one message to a relay on <paramref name="port"/> (already started by <paramref name="startFaulty"/>),
    /// waits for the first attempt, stops the faulty relay with <paramref name="stopFaulty"/>, starts the healthy one
    /// with <paramref name="startHealthy"/> on the same port, makes the retry due, and waits for the final status.
    /// </summary>
    public static async Task<Recovery> FaultThenHealthyAsync(
        int port, Func<Task> stopFaulty, Func<Task> startHealthy, IDictionary<string, string?>? changes = null, JsonObject? body = null)
    {
        using var factory = new MailApiFactory(port, Settings(changes));
        var (client, id) = await SendAsync(factory, body ?? Bodies.Valid());
        var first = await MailApiFactory.WaitForStatusAsync(client, id, Patience, AfterAnAttempt);
        await stopFaulty();
        await startHealthy();
        await RetryNowAsync(factory, Guid.Parse(id));
        var final = await MailApiFactory.WaitForStatusAsync(client, id, Patience, "sent", "partially_sent", "failed");
        return new Recovery(first, final);
    }

    /// <summary>Moves a deferred message's retry to now and queues it, as its scheduled job does when the time comes.</summary>
    private static async Task RetryNowAsync(MailApiFactory factory, Guid id)
    {
        var store = factory.Services.GetRequiredService<IMessageStore>();
        var deferred = await store.FindAsync(id, CancellationToken.None);
        Assert.Equal(MessageStatus.Deferred, deferred?.Status);
        Assert.NotNull(await store.TryUpdateAsync(deferred! with { NextAttemptAt = DateTimeOffset.UtcNow }, CancellationToken.None));
        await factory.Services.GetRequiredService<IDeliveryQueue>().EnqueueAsync([id]);
    }

    /// <summary>The checks every transient fault shares: deferred with a retry planned, then sent on a later attempt.</summary>
    public static void AssertDeferredThenSent(Recovery run, bool possibleDuplicate = false)
    {
        Assert.Equal("deferred", (string?)run.First["status"]);
        Assert.Single(Attempts(run.First));
        Assert.Equal("deferred", (string?)Attempts(run.First)[0]!["outcome"]);
        Assert.NotNull(run.First["nextAttemptAt"]);
        Assert.Null((string?)run.First["queueId"]);
        Assert.All(run.First["recipients"]!.AsArray(), r => Assert.NotEqual("accepted", (string?)r!["status"]));
        Assert.DoesNotContain(Steps(Transcript(run.First)), s => s is { Command: ".", Code: 250 });

        Assert.Equal("sent", (string?)run.Final["status"]);
        Assert.True(Attempts(run.Final).Count >= 2);
        Assert.Equal("sent", (string?)Attempts(run.Final)[^1]!["outcome"]);
        Assert.All(run.Final["recipients"]!.AsArray(), r => Assert.Equal("accepted", (string?)r!["status"]));
        Assert.NotNull((string?)run.Final["sentAt"]);
        Assert.Equal(possibleDuplicate, (bool)run.Final["possibleDuplicate"]!);
    }

    /// <summary>The entry whose command is <paramref name="command"/> (by prefix; null for the greeting).</summary>
    public static JsonNode? Find(JsonArray transcript, string? command) =>
        transcript.LastOrDefault(e => command is null
            ? (string?)e!["command"] is null
            : ((string?)e!["command"])?.StartsWith(command, StringComparison.Ordinal) == true);

    /// <summary>The reply code recorded for <paramref name="command"/>: 0 when the command got no reply.</summary>
    public static int CodeOf(JsonArray transcript, string? command)
    {
        var entry = Find(transcript, command);
        Assert.True(entry is not null, $"No entry for {command ?? "the greeting"} in {transcript.ToJsonString()}");
        return (int?)entry["reply"]?["code"] ?? 0;
    }
}
