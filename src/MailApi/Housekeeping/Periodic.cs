namespace MailApi.Housekeeping;

/// <summary>The loop of a housekeeping task: the work, then the interval, until the host stops; a failed round is logged and tried again next time.</summary>
public static class Periodic
{
    /// <param name="work">One round.</param>
    /// <param name="interval">Read before every round, so a changed setting takes effect at the next one.</param>
    /// <param name="what">Names the task in the log line of a failed round.</param>
    /// <param name="clock">The clock the wait is measured on.</param>
    /// <param name="logger">The task's own logger.</param>
    /// <param name="stoppingToken">The host stopping.</param>
    public static async Task RunAsync(Func<CancellationToken, Task> work, Func<TimeSpan> interval, string what,
        TimeProvider clock, ILogger logger, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = interval();
            try
            {
                await work(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "{What} failed; trying again in {Interval}", what, wait);
            }
            try
            {
                await Task.Delay(wait, clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
