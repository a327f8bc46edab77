using Hangfire;
using MailApi.Delivery;
using MailApi.Storage;
using MailApi.Telemetry;
using Microsoft.Extensions.Options;

namespace MailApi.Hosting;

/// <summary>
/// What belongs to the process rather than to a host: Hangfire's global configuration (serializer, log provider, job
/// filters), MailKit's meters and the thread pool's minimum. Program sets it once, from the first host built; later
/// hosts in the same process (the tests build many, several at once) change none of it, so none races another's start.
/// </summary>
public static class ProcessWide
{
    /// <summary>Pool threads ready from the start in PostgreSQL mode: room for 32 blocked POSTs and the async work beside them.</summary>
    private const int MinThreadsOnPostgreSql = 64;

    private static readonly Lock Gate = new();
    private static bool _configured;

    /// <summary>
    /// Configures the process from <paramref name="services"/> (the first host's) unless it was done; a second caller
    /// waits until it is done, so no host starts its jobs before the filters are in place.
    /// </summary>
    public static void Configure(IServiceProvider services)
    {
        lock (Gate)
        {
            if (_configured)
            {
                return;
            }
            GlobalConfiguration.Configuration
                .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
                .UseSimpleAssemblyNameTypeSerializer()
                .UseRecommendedSerializerSettings()
                .UseLogProvider(new Hangfire.AspNetCore.AspNetCoreLogProvider(services.GetRequiredService<ILoggerFactory>()));
            RemoveUnusedJobFilters();
            GlobalJobFilters.Filters.Add(new TraceContextJobFilter());
            // MailKit's meters live as long as the process (its Configure keeps the first meter it is given), so they are
            // MailKit's own rather than one made by a host's IMeterFactory, which the first host to stop would dispose.
            MailKit.Telemetry.SmtpClient.Configure();
            if (services.GetRequiredService<IOptions<StorageOptions>>().Value.Provider == StorageProvider.PostgreSql)
            {
                // Hangfire's client has no async API: on PostgreSQL each POST blocks a pool thread in its socket reads while
                // it creates the job. Past its minimum the pool adds threads slowly, so without these a burst of POSTs
                // would queue for a thread while the CPU sat idle.
                ThreadPool.GetMinThreads(out var workerThreads, out var ioThreads);
                ThreadPool.SetMinThreads(Math.Max(workerThreads, MinThreadsOnPostgreSql), ioThreads);
            }
            _configured = true;
        }
    }

    /// <summary>
    /// Hangfire's default filters that cost statements on every job and that the service does not use: the captured
    /// culture (jobs carry an id, nothing culture-dependent), the dashboard's succeeded/failed history graph (a counter
    /// row per job) and continuations (no job here continues another).
    /// </summary>
    private static void RemoveUnusedJobFilters()
    {
        foreach (var filter in GlobalJobFilters.Filters.Where(f => f.Instance is CaptureCultureAttribute or StatisticsHistoryAttribute
            or ContinuationsSupportAttribute).ToList())
        {
            GlobalJobFilters.Filters.Remove(filter.Instance);
        }
    }
}
