namespace MailApi.Testing;

/// <summary>
/// Waits for a state that something else brings about (a status, a file, a listener) by asking again every 50 ms
/// until it holds. The patience only bounds a wait that went wrong; no test relies on how long anything takes.
/// </summary>
public static class Poll
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(50);

    /// <summary>Asks <paramref name="reached"/> until it says true.</summary>
    /// <exception cref="TimeoutException">It did not within <paramref name="patience"/>; the message says <paramref name="what"/>.</exception>
    public static async Task UntilAsync(Func<Task<bool>> reached, TimeSpan patience, Func<string> what)
    {
        var deadline = DateTime.UtcNow + patience;
        while (!await reached().ConfigureAwait(false))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Waited {patience} for {what()}.");
            }
            await Task.Delay(Interval).ConfigureAwait(false);
        }
    }

    /// <inheritdoc cref="UntilAsync(Func{Task{bool}}, TimeSpan, Func{string})"/>
    public static Task UntilAsync(Func<bool> reached, TimeSpan patience, string what) =>
        UntilAsync(() => Task.FromResult(reached()), patience, () => what);
}
