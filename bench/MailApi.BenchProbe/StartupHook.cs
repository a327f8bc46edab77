using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.Text;

/// <summary>
/// Loaded by the runtime before the service's Main when DOTNET_STARTUP_HOOKS names this assembly (MailApi.Bench does,
/// with MAILAPI_BENCH_PROBE set to a file): every 100 ms one CSV line of the thread pool's queue length, thread count,
/// completed work items, lock contentions, GC counts, the process's CPU time, the time the GC has paused it and the bytes
/// it has allocated. Nothing else in the service changes.
/// </summary>
internal static class StartupHook
{
    public static void Initialize()
    {
        var file = Environment.GetEnvironmentVariable("MAILAPI_BENCH_PROBE");
        if (!string.IsNullOrEmpty(file))
        {
            var thread = new Thread(() => Sample(file)) { IsBackground = true, Name = "bench-probe" };
            thread.Start();
        }
        // For profiling: MAILAPI_BENCH_GCLOG=FILE writes one CSV line per garbage collection seen (polled every 5 ms, so one
        // of two quick ones can be missed): its generation, pause, promoted bytes and the heap after it.
        var gcLog = Environment.GetEnvironmentVariable("MAILAPI_BENCH_GCLOG");
        if (!string.IsNullOrEmpty(gcLog))
        {
            new Thread(() => GcLog(gcLog)) { IsBackground = true, Name = "bench-gclog" }.Start();
        }
        // For profiling only (it costs): MAILAPI_BENCH_TRACE=FILE writes one JSON line per HTTP request with the Npgsql
        // commands run under it (Npgsql's ActivitySource), with their start offsets and durations.
        var allocations = Environment.GetEnvironmentVariable("MAILAPI_BENCH_ALLOCS");
        if (!string.IsNullOrEmpty(allocations))
        {
            AllocationTypes.Start(allocations);
        }
        var trace = Environment.GetEnvironmentVariable("MAILAPI_BENCH_TRACE");
        if (!string.IsNullOrEmpty(trace))
        {
            RequestTrace.Start(trace);
        }
    }

    private static void GcLog(string file)
    {
        using var writer = new StreamWriter(file, append: false) { AutoFlush = true };
        writer.WriteLine("unixMs,index,generation,background,pauseMs,promotedKB,heapMB,fragmentedMB,compacted");
        long last = 0;
        while (true)
        {
            var info = GC.GetGCMemoryInfo(GCKind.Any);
            if (info.Index != last)
            {
                last = info.Index;
                var pause = info.PauseDurations.ToArray().Sum(p => p.TotalMilliseconds);
                writer.WriteLine(FormattableString.Invariant(
                    $"{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()},{info.Index},{info.Generation},{info.Concurrent},{pause:F1},{info.PromotedBytes / 1024},{info.HeapSizeBytes / 1048576},{info.FragmentedBytes / 1048576},{info.Compacted}"));
            }
            Thread.Sleep(5);
        }
    }

    private static void Sample(string file)
    {
        using var writer = new StreamWriter(file, append: false) { AutoFlush = true };
        writer.WriteLine("unixMs,pending,threads,completed,lockContentions,gen0,gen1,gen2,cpuMs,gcPauseMs,allocatedKB");
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
                cpu.ToString("F0", CultureInfo.InvariantCulture),
                GC.GetTotalPauseDuration().TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture),
                (GC.GetTotalAllocatedBytes() / 1024).ToString(CultureInfo.InvariantCulture)));
            Thread.Sleep(100);
        }
    }
}

internal static class RequestTrace
{
    private static readonly ConcurrentDictionary<Activity, ConcurrentQueue<(string Text, double StartMs, double Ms)>> Requests = new();
    private static StreamWriter? _writer;
    private static readonly object Gate = new();

    public static void Start(string file)
    {
        _writer = new StreamWriter(file, append: false) { AutoFlush = false };
        var flusher = new Thread(() =>
        {
            while (true)
            {
                Thread.Sleep(500);
                lock (Gate)
                {
                    _writer.Flush();
                }
            }
        })
        { IsBackground = true, Name = "bench-trace-flush" };
        flusher.Start();
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Microsoft.AspNetCore" or "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStarted = activity =>
            {
                if (activity.Source.Name == "Microsoft.AspNetCore" && activity.Parent is null)
                {
                    Requests[activity] = new();
                }
            },
            ActivityStopped = Stopped,
        };
        ActivitySource.AddActivityListener(listener);
    }

    private static void Stopped(Activity activity)
    {
        if (activity.Source.Name == "Npgsql")
        {
            var root = activity.Parent;
            while (root?.Parent is not null)
            {
                root = root.Parent;
            }
            if (root is not null && Requests.TryGetValue(root, out var commands))
            {
                var text = "";
                foreach (var tag in activity.TagObjects)
                {
                    if (tag.Key.Contains("statement", StringComparison.Ordinal) || tag.Key.Contains("query.text", StringComparison.Ordinal))
                    {
                        text = tag.Value?.ToString() ?? "";
                        break;
                    }
                }
                if (text.Length == 0)
                {
                    text = activity.DisplayName;
                }
                text = string.Join(' ', text.Split((char[])['\r', '\n', '\t', ' '], StringSplitOptions.RemoveEmptyEntries));
                commands.Enqueue((text.Length > 80 ? text[..80] : text, (activity.StartTimeUtc - root.StartTimeUtc).TotalMilliseconds, activity.Duration.TotalMilliseconds));
            }
            return;
        }
        if (activity.Source.Name == "Microsoft.AspNetCore" && Requests.TryRemove(activity, out var done))
        {
            var sb = new StringBuilder();
            sb.Append("{\"path\":\"").Append(activity.GetTagItem("url.path") ?? activity.DisplayName).Append("\",\"method\":\"")
              .Append(activity.GetTagItem("http.request.method")).Append("\",\"ms\":")
              .Append(activity.Duration.TotalMilliseconds.ToString("F3", CultureInfo.InvariantCulture)).Append(",\"cmds\":[");
            var first = true;
            foreach (var (text, start, ms) in done)
            {
                sb.Append(first ? "" : ",").Append("[\"").Append(text.Replace("\\", "\\\\").Replace("\"", "\\\"")).Append("\",")
                  .Append(start.ToString("F3", CultureInfo.InvariantCulture)).Append(',').Append(ms.ToString("F3", CultureInfo.InvariantCulture)).Append(']');
                first = false;
            }
            sb.Append("]}");
            lock (Gate)
            {
                _writer!.WriteLine(sb.ToString());
            }
        }
    }
}

/// <summary>
/// For profiling: MAILAPI_BENCH_ALLOCS=FILE rewrites FILE every 5 s with the types allocated most, from the runtime's
/// allocation ticks (one about every 100 KB allocated, carrying the type of the object that crossed the mark): a sample,
/// not a count, but its shares follow the allocated bytes.
/// </summary>
internal sealed class AllocationTypes : EventListener
{
    private static readonly ConcurrentDictionary<string, long> Bytes = new();

    public static void Start(string file)
    {
        _ = new AllocationTypes();
        new Thread(() =>
        {
            while (true)
            {
                Thread.Sleep(5000);
                var total = Bytes.Values.Sum();
                var lines = Bytes.OrderByDescending(p => p.Value).Take(60)
                    .Select(p => FormattableString.Invariant($"{p.Value / 1048576.0,10:F1} MB {100.0 * p.Value / Math.Max(1, total),5:F1} %  {p.Key}"));
                File.WriteAllLines(file, [FormattableString.Invariant($"{total / 1048576.0:F1} MB sampled"), .. lines]);
            }
        })
        { IsBackground = true, Name = "bench-allocs" }.Start();
    }

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1); // GC
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) == true && e.Payload is { } payload && e.PayloadNames is { } names)
        {
            var type = payload[names.IndexOf("TypeName")] as string ?? "?";
            var amount = names.IndexOf("AllocationAmount64") is >= 0 and var i ? Convert.ToInt64(payload[i], CultureInfo.InvariantCulture) : 100_000;
            Bytes.AddOrUpdate(type, amount, (_, v) => v + amount);
        }
    }
}
