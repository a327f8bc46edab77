using Hangfire.Logging;

namespace MailApi.Tests.Infrastructure;

/// <summary>
/// Hangfire's logs while the tests run many hosts in one process: written to the test output's trace, never through a
/// host's logger factory that another test may have disposed. Warnings and errors only.
/// </summary>
public sealed class HangfireLogs : ILogProvider, ILog
{
    public static readonly HangfireLogs Instance = new();

    public ILog GetLogger(string name) => this;

    public bool Log(LogLevel logLevel, Func<string>? messageFunc, Exception? exception = null)
    {
        if (logLevel < LogLevel.Warn)
        {
            return false;
        }
        if (messageFunc is not null)
        {
            System.Diagnostics.Trace.WriteLine($"Hangfire {logLevel}: {messageFunc()} {exception}");
        }
        return true;
    }
}
