using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;

namespace MailApi.Tests.Delivery;

/// <summary>Shared steps of the relay tests: send through the API, read the attempts and their transcripts.</summary>
internal static class RelayDialogue
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Every status a message can rest in (or pass through) after an attempt.</summary>
    public static readonly string[] AfterAnAttempt = ["sent", "partially_sent", "failed", "deferred"];

    /// <summary>POST /v1/messages with <paramref name="key"/>; returns the client and the new message's id.</summary>
    public static async Task<(HttpClient Client, string Id)> SendAsync(MailApiFactory factory, JsonObject body, string key = MailApiFactory.AlphaKey)
    {
        var client = factory.ClientFor(key);
        var response = await client.PostAsJsonAsync("/v1/messages", body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var created = await response.Content.ReadFromJsonAsync<JsonObject>();
        return (client, (string)created!["id"]!);
    }

    public static async Task<JsonObject> GetAsync(HttpClient client, string id) =>
        (await client.GetFromJsonAsync<JsonObject>($"/v1/messages/{id}"))!;

    /// <summary>Waits until the message has at least <paramref name="attempts"/> attempts and rests in one of <paramref name="statuses"/>.</summary>
    public static async Task<JsonObject> WaitForAttemptsAsync(HttpClient client, string id, int attempts, params string[] statuses)
    {
        JsonObject? last = null;
        await Poll.UntilAsync(
            async () => (last = await GetAsync(client, id)) is { } m && Attempts(m).Count >= attempts && statuses.Contains((string?)m["status"]),
            Patience,
            () => $"message {id} to reach {attempts} attempt(s) and {string.Join("/", statuses)}; last seen: {last}");
        return last!;
    }

    public static JsonArray Attempts(JsonObject message) => message["attempts"]!.AsArray();

    public static JsonArray Transcript(JsonObject message, int attempt = 0) => Attempts(message)[attempt]!["transcript"]!.AsArray();

    public static string? Error(JsonObject message, int attempt = 0) => (string?)Attempts(message)[attempt]!["error"];

    /// <summary>Each entry as (command, code, enhanced code); the code is 0 where no reply came. MAIL FROM loses its parameters.</summary>
    public static List<(string? Command, int Code, string? Enhanced)> Steps(JsonArray transcript) =>
        transcript.Select(e =>
        {
            var command = (string?)e!["command"];
            if (command?.StartsWith("MAIL FROM:", StringComparison.Ordinal) == true)
            {
                command = command[..(command.IndexOf('>', StringComparison.Ordinal) + 1)];
            }
            return (command, (int?)e["reply"]?["code"] ?? 0, (string?)e["reply"]?["enhancedCode"]);
        }).ToList();

    /// <summary>The entry for <paramref name="command"/> (exact, or by prefix for MAIL FROM).</summary>
    public static JsonNode Entry(JsonArray transcript, string command) =>
        transcript.Last(e => (string?)e!["command"] is { } c && (c == command || (command.StartsWith("MAIL", StringComparison.Ordinal) && c.StartsWith(command, StringComparison.Ordinal))))!;

    public static JsonObject Recipient(JsonObject message, string address) =>
        message["recipients"]!.AsArray().Single(r => (string?)r!["address"] == address)!.AsObject();

    /// <summary>
    /// Waits until the service has no attempt running or planned (Hangfire idle), then checks that the message has
    /// <paramref name="attempts"/> attempts: a retry, had one been planned, would have run by then.
    /// </summary>
    public static async Task<JsonObject> AssertNoFurtherAttemptAsync(MailApiFactory factory, HttpClient client, string id, int attempts)
    {
        await factory.WaitUntilIdleAsync(Patience);
        var message = await GetAsync(client, id);
        Assert.Equal(attempts, Attempts(message).Count);
        return message;
    }
}
