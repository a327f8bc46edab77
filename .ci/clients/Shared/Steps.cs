using System.Diagnostics;

namespace MailApi.ClientChecks;

/// <summary>
/// What a generated client must do for the six steps, in the client's own types underneath: statuses are the names of its
/// enum members (so <c>Sent</c>, <c>PartiallySent</c>: an idiomatic enum is part of the check).
/// </summary>
public interface IClientUnderTest
{
    /// <summary>POST /v1/messages; the answer's id, status and whether the final reply and every recipient's reply are null.</summary>
    Task<(Guid Id, string Status, bool RepliesNull)> SendAsync(SendOptions options);

    /// <summary>GET /v1/messages/{id}: status, final reply code, queue id.</summary>
    Task<(string Status, int? FinalCode, string? QueueId)> GetAsync(Guid id);

    /// <summary>GET /v1/messages?status=sent&amp;limit=100: the ids.</summary>
    Task<IReadOnlyList<Guid>> ListSentAsync();

    /// <summary>POST /v1/messages/{id}/cancel: the status answered.</summary>
    Task<string> CancelAsync(Guid id);

    /// <summary>POST /v1/messages with <see cref="Steps.NotAnAddress"/> as from; the 400's status and the JSON paths of its errors,
    /// read from the client's typed exception.</summary>
    Task<(int Status, IReadOnlyCollection<string> Paths)> SendInvalidAsync();
}

/// <summary>How a step sends its message: when, with which Idempotency-Key, under which subject.</summary>
public sealed record SendOptions(string Step, DateTimeOffset? SendAt = null, string? IdempotencyKey = null)
{
    public string Subject => $"{Step} {Steps.Run}";
}

/// <summary>
/// The six steps a new integrator takes with a generated client, run against the service with its capture relay: send,
/// poll to sent, list, schedule and cancel, an invalid message's errors, an Idempotency-Key replayed. One line per step;
/// the first error ends the run, and the exit code is 0 only when every step passed.
/// </summary>
public static class Steps
{
    public const string From = "Zotrim <zotrim@domain.local>";

    public const string To = "student@domain.local";

    public const string Text = "Hello from a generated client.";

    public const string NotAnAddress = "not-an-address";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>This run's mark in every subject, so a step finds its own messages among earlier runs'.</summary>
    public static readonly string Run = Guid.NewGuid().ToString("N");

    public static Task<int> RunAsync(string name, IClientUnderTest client)
    {
        Guid sent = default;
        return RunAsync(name,
            ("send a message", async () =>
            {
                var (id, status, repliesNull) = await client.SendAsync(new("send"));
                Expect(status is "Queued" or "Sending" or "Sent", $"Queued, got {status}");
                Expect(repliesNull || status == "Sent", "null replies before the relay answered");
                sent = id;
                return $"{id} {status}, replies {(repliesNull ? "null" : "set")}";
            }),
            ("poll it to sent", async () =>
            {
                var clock = Stopwatch.StartNew();
                var (status, code, queueId) = await client.GetAsync(sent);
                while (status != "Sent" && clock.Elapsed < Timeout)
                {
                    await Task.Delay(100);
                    (status, code, queueId) = await client.GetAsync(sent);
                }
                Expect(status == "Sent" && code == 250 && queueId is not null, $"Sent with a 250 and a queue id, got {status} {code} {queueId}");
                return $"{status}, final reply {code}, queue id {queueId}";
            }),
            ("list", async () =>
            {
                var ids = await client.ListSentAsync();
                Expect(ids.Contains(sent), "the sent message among the sent ones");
                return $"{ids.Count} sent message(s)";
            }),
            ("schedule and cancel", async () =>
            {
                var (id, status, _) = await client.SendAsync(new("scheduled", SendAt: DateTimeOffset.UtcNow.AddHours(1)));
                var canceled = await client.CancelAsync(id);
                Expect(status == "Scheduled" && canceled == "Canceled", $"Scheduled then Canceled, got {status} then {canceled}");
                return $"{id} {status} → {canceled}";
            }),
            ("send an invalid one and read errors", async () =>
            {
                var (status, paths) = await client.SendInvalidAsync();
                Expect(status == 400 && paths.Contains("from"), $"a 400 with errors.from, got {status} with {string.Join(", ", paths)}");
                return $"{status}, errors: {string.Join(", ", paths)}";
            }),
            ("replay an Idempotency-Key", async () =>
            {
                var key = Guid.NewGuid().ToString();
                var first = await client.SendAsync(new("idempotent", IdempotencyKey: key));
                var second = await client.SendAsync(new("idempotent", IdempotencyKey: key));
                Expect(first.Id == second.Id, $"the same id twice, got {first.Id} and {second.Id}");
                return $"{first.Id} both times";
            }));
    }

    private static async Task<int> RunAsync(string name, params (string Name, Func<Task<string>> Run)[] steps)
    {
        var passed = 0;
        foreach (var (step, run) in steps)
        {
            var clock = Stopwatch.StartNew();
            try
            {
                var detail = await run();
                Console.WriteLine($"{name}: ok   {step} ({clock.ElapsedMilliseconds} ms): {detail}");
                passed++;
            }
            catch (Exception e)
            {
                Console.WriteLine($"{name}: FAIL {step} ({clock.ElapsedMilliseconds} ms): {e}");
                break;
            }
        }
        Console.WriteLine($"{name}: {passed} of {steps.Length} steps passed");
        return passed == steps.Length ? 0 : 1;
    }

    private static void Expect(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException("expected " + what);
        }
    }
}
