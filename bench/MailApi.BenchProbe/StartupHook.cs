using System.Globalization;

/// <summary>
/// Loaded by the runtime before the service's Main when DOTNET_STARTUP_HOOKS names this assembly (MailApi.Bench does,
/// with MAILAPI_BENCH_PROBE set to a file): every 100 ms one CSV line of the thread pool's queue length, thread count,
/// completed work items, lock contentions, GC counts and the process's CPU time. Nothing else in the service changes.
/// </summary>
internal static class StartupHook
{
    public static void Initialize()
    {
        var file = Environment.GetEnvironmentVariable("MAILAPI_BENCH_PROBE");
        if (string.IsNullOrEmpty(file))
        {
            return;
        }
        var thread = new Thread(() => Sample(file)) { IsBackground = true, Name = "bench-probe" };
        thread.Start();
    }

    private static void Sample(string file)
    {
        using var writer = new StreamWriter(file, append: false) { AutoFlush = true };
        writer.WriteLine("unixMs,pending,threads,completed,lockContentions,gen0,gen1,gen2,cpuMs");
        while (true)
        {
            var cpu = Environment.CpuUsage.TotalTime.TotalMilliseconds;
            writer.WriteLine(string.Join(',',
                DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
                ThreadPool.PendingWorkItemCount.ToString(CultureInfo.InvariantCulture),
                ThreadPool.ThreadCount.ToString(CultureInfo.InvariantCulture),
                ThreadPool.CompletedWorkItemCount.ToString(CultureInfo.InvariantCulture),
                Monitor.LockContentionCount.ToString(CultureInfo.InvariantCulture),
                GC.CollectionCount(0).ToString(CultureInfo.InvariantCulture),
                GC.CollectionCount(1).ToString(CultureInfo.InvariantCulture),
                GC.CollectionCount(2).ToString(CultureInfo.InvariantCulture),
                cpu.ToString("F0", CultureInfo.InvariantCulture)));
            Thread.Sleep(100);
        }
    }
}
