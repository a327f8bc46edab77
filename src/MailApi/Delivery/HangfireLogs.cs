using Hangfire.Logging;
using HangfireLogLevel = Hangfire.Logging.LogLevel;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace MailApi.Delivery;

/// <summary>
/// Hangfire's logs into the host's logging, through a process-wide provider (<c>LogProvider</c> is static, set once by
/// <see cref="Hosting.ProcessWide"/> from the first host) that outlives that host: when it is disposed while another
/// still runs (tests start several in one process), Hangfire's logs go nowhere instead of throwing
/// <see cref="ObjectDisposedException"/> into the other host's requests and workers. One host per process, as in
/// production, never sees the difference.
/// </summary>
internal sealed class HangfireLogs(ILoggerFactory factory) : ILogProvider
{
    public ILog GetLogger(string name)
    {
        try
        {
            return new HostLog(factory.CreateLogger(name));
        }
        catch (ObjectDisposedException)
        {
            return HostLog.Nowhere;
        }
    }

    private sealed class HostLog(ILogger? logger) : ILog
    {
        public static readonly HostLog Nowhere = new(null);

        public bool Log(HangfireLogLevel logLevel, Func<string>? messageFunc, Exception? exception = null)
        {
            if (logger is null)
            {
                return false;
            }
            var level = logLevel switch
            {
                HangfireLogLevel.Trace => LogLevel.Trace,
                HangfireLogLevel.Debug => LogLevel.Debug,
                HangfireLogLevel.Info => LogLevel.Information,
                HangfireLogLevel.Warn => LogLevel.Warning,
                HangfireLogLevel.Error => LogLevel.Error,
                _ => LogLevel.Critical,
            };
            try
            {
                if (messageFunc is null)
                {
                    // Hangfire asks whether a level is on by passing no message.
                    return logger.IsEnabled(level);
                }
                if (logger.IsEnabled(level))
                {
                    logger.Log(level, 0, messageFunc(), exception, static (message, _) => message);
                }
                return true;
            }
            catch (ObjectDisposedException)
            {
                return false;
            }
        }
    }
}
