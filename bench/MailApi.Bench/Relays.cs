using System.Text.Json.Nodes;

namespace MailApi.Bench;

/// <summary>Figures of the two-relay runs: two smtp-sinks side by side, then a dead primary in front of one.</summary>
/// <param name="Spread">Two relays of one priority and weight, half the connections each.</param>
/// <param name="SpreadFirst">Messages the first relay received in that run.</param>
/// <param name="SpreadSecond">Messages the second relay received in that run.</param>
/// <param name="Failover">A primary whose port is closed, then the backup: every message fails over until the primary is paused.</param>
/// <param name="FailedOver">Messages with more than one attempt in the failover run.</param>
internal sealed record RelayFigures(DeliveryFigures Spread, long SpreadFirst, long SpreadSecond, DeliveryFigures Failover, long FailedOver);

/// <summary>The service on a <c>Relays</c> list instead of the single <c>Smtp</c> relay.</summary>
internal static class RelayBench
{
    /// <summary>
    /// The two runs; <paramref name="warm"/> warms a service up before it is measured (the dead-primary one is measured
    /// cold: a warm-up would pause the primary before the run).
    /// </summary>
    public static async Task<RelayFigures> RunAsync(string root, SmtpSink first, int concurrency, int messages, Action<string> log, Func<ServiceLoad, Task> warm)
    {
        await using var second = await SmtpSink.StartCountingAsync(1024);
        var each = Math.Max(1, concurrency / 2).ToString();
        DeliveryFigures spread;
        long a, b;
        await using (var service = await ServiceProcess.StartAsync(root, first.Port, concurrency, pool: true, settings: Relays(
            ("sink-a", first.Port, 0, each), ("sink-b", second.Port, 0, each))))
        using (var load = new ServiceLoad(service))
        {
            log($"two relays of one priority (smtp-sinks on {first.Port} and {second.Port}, {each} connections each): warm-up, then {messages} messages");
            await warm(load);
            await load.DeliverAsync(Math.Min(1000, messages));
            var (beforeA, beforeB) = (first.Messages, second.Messages);
            spread = await load.DeliverAsync(messages);
            (a, b) = (first.Messages - beforeA, second.Messages - beforeB);
        }

        var dead = FreePort.Get();
        await using (var service = await ServiceProcess.StartAsync(root, first.Port, concurrency, pool: true, settings: Relays(
            ("dead", dead, 0, concurrency.ToString()), ("backup", second.Port, 1, concurrency.ToString()))))
        using (var load = new ServiceLoad(service))
        {
            log($"a primary on a closed port ({dead}) before the backup: {messages} messages");
            var failover = await load.DeliverAsync(messages);
            var failedOver = await load.CountLastAsync(m => m["attempts"]!.AsArray().Count > 1);
            return new RelayFigures(spread, a, b, failover, failedOver);
        }
    }

    private static Dictionary<string, string> Relays(params (string Name, int Port, int Priority, string MaxConnections)[] relays)
    {
        var settings = new Dictionary<string, string>();
        for (var i = 0; i < relays.Length; i++)
        {
            var (name, port, priority, connections) = relays[i];
            settings[$"Relays__{i}__Name"] = name;
            settings[$"Relays__{i}__Host"] = "127.0.0.1";
            settings[$"Relays__{i}__Port"] = port.ToString();
            settings[$"Relays__{i}__Security"] = "None";
            settings[$"Relays__{i}__Priority"] = priority.ToString();
            settings[$"Relays__{i}__MaxConnections"] = connections;
        }
        return settings;
    }
}
