using System.Diagnostics;

namespace MailApi.ClientChecks;

/// <summary>
/// The six steps a new integrator takes with a generated client, run against the service with its capture relay. Each
/// client's program supplies the calls; this class runs them in order, prints one line per step and fails on the first error.
/// </summary>
public static class Steps
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>This run's mark in every subject, so a step finds its own messages among earlier runs'.</summary>
    private static readonly string Run = Guid.NewGuid().ToString("N");

    public const string From = "Zotrim <zotrim@domain.local>";

    public const string To = "student@domain.local";

    public const string Text = "Hello from a generated client.";

    public static string Subject(string step) => $"{step} {Run}";

    /// <summary>Runs the steps; the exit code is 0 only when every one passed.</summary>
    public static async Task<int> RunAsync(string client, params (string Name, Func<Task<string>> Run)[] steps)
    {
        var passed = 0;
        foreach (var (name, run) in steps)
        {
            var clock = Stopwatch.StartNew();
            try
            {
                var detail = await run();
                Console.WriteLine($"{client}: ok   {name} ({clock.ElapsedMilliseconds} ms): {detail}");
                passed++;
            }
            catch (Exception e)
            {
                Console.WriteLine($"{client}: FAIL {name} ({clock.ElapsedMilliseconds} ms): {e}");
                break;
            }
        }
        Console.WriteLine($"{client}: {passed} of {steps.Length} steps passed");
        return passed == steps.Length ? 0 : 1;
    }

    /// <summary>Reads the state until <paramref name="done"/> holds; fails with the last state seen after 30 s.</summary>
    public static async Task<T> PollAsync<T>(Func<Task<T>> read, Func<T, bool> done, Func<T, string> describe)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var state = await read();
            if (done(state))
            {
                return state;
            }
            if (clock.Elapsed > Timeout)
            {
                throw new TimeoutException($"gave up after {Timeout.TotalSeconds} s; last seen: {describe(state)}");
            }
            await Task.Delay(100);
        }
    }

    /// <summary>Throws with <paramref name="what"/> unless <paramref name="condition"/> holds.</summary>
    public static void Expect(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException("expected " + what);
        }
    }
}
