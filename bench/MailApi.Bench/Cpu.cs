namespace MailApi.Bench;

/// <summary>CPU time spent in one phase by the service process and by every PostgreSQL process, per message.</summary>
internal sealed record CpuFigures(double ServiceMsPerMessage, double PostgresMsPerMessage, double OtherMsPerMessage, double WallSeconds);

/// <summary>
/// Reads /proc: the service's utime + stime, the sum over every process named <c>postgres</c>, and the machine's total
/// busy time (the rest is the bench itself, smtp-sink and neighbours). Dead processes between two reads are missed, which
/// PostgreSQL's backends are not: pooled connections live through a phase.
/// </summary>
internal sealed class CpuMeter(int servicePid)
{
    private static readonly double TicksPerSecond = 100; // USER_HZ on Linux
    private (double Service, double Postgres, double Busy) _start = Read(servicePid);
    private DateTime _startedAt = DateTime.UtcNow;

    public void Reset()
    {
        _start = Read(servicePid);
        _startedAt = DateTime.UtcNow;
    }

    public CpuFigures Per(double messages)
    {
        var now = Read(servicePid);
        var service = now.Service - _start.Service;
        var postgres = now.Postgres - _start.Postgres;
        var busy = now.Busy - _start.Busy;
        return new CpuFigures(service * 1000 / messages, postgres * 1000 / messages, Math.Max(0, busy - service - postgres) * 1000 / messages,
            (DateTime.UtcNow - _startedAt).TotalSeconds);
    }

    private static (double Service, double Postgres, double Busy) Read(int servicePid)
    {
        double postgres = 0, service = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            var name = Path.GetFileName(dir);
            if (!int.TryParse(name, out var pid))
            {
                continue;
            }
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var comm = stat[(stat.IndexOf('(') + 1)..stat.LastIndexOf(')')];
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                var seconds = (double.Parse(fields[11]) + double.Parse(fields[12])) / TicksPerSecond; // utime, stime
                if (pid == servicePid)
                {
                    service = seconds;
                }
                else if (comm == "postgres")
                {
                    postgres += seconds;
                }
            }
            catch (IOException)
            {
            }
        }
        var cpu = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(double.Parse).ToArray();
        var busy = (cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + cpu[7]) / TicksPerSecond; // user nice system irq softirq steal
        return (service, postgres, busy);
    }
}
