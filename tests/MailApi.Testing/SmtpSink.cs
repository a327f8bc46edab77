using System.Diagnostics;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace MailApi.Testing;

/// <summary>
/// Postfix's <c>smtp-sink</c> test server on 127.0.0.1, killed (by its process id) on dispose. Two uses:
/// <see cref="StartAsync(int, string[])"/> for tests, with fault-injection flags (<c>-Q</c> 421 and hang up, <c>-q</c> hang up
/// without a reply, <c>-r</c>/<c>-f</c> 4xx/5xx on chosen commands, <c>-W cmd:delay</c> a slow reply, <c>-A</c> abort
/// after DATA; see smtp-sink(1)), where every transaction whose content reached the final dot is dumped to a file
/// (<c>-d</c>) whatever the sink answered: <see cref="Transactions"/>; and <see cref="StartCountingAsync"/> for load,
/// which keeps nothing and counts (<c>-c</c>): <see cref="Messages"/>.
/// </summary>
public sealed partial class SmtpSink : IAsyncDisposable
{
    private const string Program = "/usr/sbin/smtp-sink";

    private readonly Process _process;
    private readonly string? _dumps;
    private long _messages;
    private int _disposed;

    private SmtpSink(Process process, int port, string? dumps)
    {
        _process = process;
        Port = port;
        _dumps = dumps;
    }

    public int Port { get; }

    /// <summary>Messages taken since start (smtp-sink's <c>mesg=</c> counter; <see cref="StartCountingAsync"/> only).</summary>
    public long Messages => Interlocked.Read(ref _messages);

    /// <summary>
    /// The transactions that reached the final dot, oldest first (each: its recipients and the message).
    /// smtp-sink opens a dump at MAIL FROM, closes it at the final dot and removes it when the session ends before;
    /// a dump it still holds open (e.g. while it delays a reply) is not a transaction that reached the dot yet.
    /// </summary>
    public IReadOnlyList<SinkTransaction> Transactions =>
        Directory.EnumerateFiles(_dumps ?? throw new InvalidOperationException("A counting sink keeps no transactions."), "*", SearchOption.AllDirectories)
            .Except(OpenFiles())
            .Select(f => (File: f, Time: File.GetLastWriteTimeUtc(f)))
            .OrderBy(f => f.Time)
            .Select(f => SinkTransaction.Parse(File.ReadAllText(f.File)))
            .ToList();

    /// <summary>Skips the test (saying how to get it) when smtp-sink is not installed.</summary>
    public static void Require()
    {
        if (!File.Exists(Program))
        {
            Assert.Skip($"{Program} is missing: it comes with the postfix package, which `sudo bash tests/relays/postfix.sh start` installs.");
        }
    }

    /// <summary>
    /// Starts <c>smtp-sink [flags] 127.0.0.1:port</c> (a free port when 0), dumping each transaction, and waits until
    /// it listens. <paramref name="flags"/> are smtp-sink's own, e.g. <c>["-q", "."]</c>.
    /// </summary>
    public static Task<SmtpSink> StartAsync(int port = 0, params string[] flags)
    {
        Require();
        var dumps = Directory.CreateTempSubdirectory("smtp-sink-").FullName;
        return StartProcessAsync(port == 0 ? FreePort.Get() : port, ["-d", Path.Combine(dumps, "%Y%m%d%H%M%S."), .. flags], dumps, 16);
    }

    /// <summary>
    /// Starts an smtp-sink for load on a free port: up to <paramref name="connections"/> sessions at once, every
    /// message answered <c>250 2.0.0 Ok</c>, kept nowhere and counted in <see cref="Messages"/>.
    /// </summary>
    public static Task<SmtpSink> StartCountingAsync(int connections) =>
        StartProcessAsync(FreePort.Get(), ["-c"], dumps: null, connections);

    private static async Task<SmtpSink> StartProcessAsync(int port, string[] flags, string? dumps, int connections)
    {
        var start = new ProcessStartInfo(Program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (Environment.IsPrivilegedProcess && !OperatingSystem.IsWindows())
        {
            // smtp-sink refuses to keep root's privileges; the dumps are then written as nobody.
            if (dumps is not null)
            {
                File.SetUnixFileMode(dumps, (UnixFileMode)0b111_111_111);
            }
            start.ArgumentList.Add("-u");
            start.ArgumentList.Add("nobody");
        }
        start.ArgumentList.Add("-h");
        start.ArgumentList.Add("sink.localhost");
        foreach (var flag in flags)
        {
            start.ArgumentList.Add(flag);
        }
        start.ArgumentList.Add($"127.0.0.1:{port}");
        start.ArgumentList.Add(connections.ToString());

        var process = Process.Start(start)!;
        var sink = new SmtpSink(process, port, dumps);
        // -c writes its counters to stdout, rewritten in place with CR: one reading per line or CR.
        process.OutputDataReceived += (_, e) => sink.Count(e.Data);
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await Poll.UntilAsync(() =>
                process.HasExited
                    ? throw new InvalidOperationException($"smtp-sink {string.Join(' ', flags)} exited at start with {process.ExitCode}.")
                    : Listening(port), TimeSpan.FromSeconds(10), $"smtp-sink {string.Join(' ', flags)} to listen on 127.0.0.1:{port}");
            return sink;
        }
        catch
        {
            await sink.DisposeAsync();
            throw;
        }
    }

    private void Count(string? output)
    {
        foreach (var reading in (output ?? "").Split('\r'))
        {
            if (Counters().Match(reading) is { Success: true } match)
            {
                Interlocked.Exchange(ref _messages, long.Parse(match.Groups[1].Value));
            }
        }
    }

    /// <summary>Kills this smtp-sink (its process only) and removes its dumps.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
        }
        _process.Dispose();
        try
        {
            if (_dumps is not null)
            {
                Directory.Delete(_dumps, recursive: true);
            }
        }
        catch (IOException)
        {
        }
    }

    private IEnumerable<string> OpenFiles()
    {
        var open = new List<string>();
        try
        {
            foreach (var fd in Directory.EnumerateFiles($"/proc/{_process.Id}/fd"))
            {
                if (new FileInfo(fd).LinkTarget is { } target)
                {
                    open.Add(target);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            // The sink has exited: it holds nothing open.
        }
        return open;
    }

    [GeneratedRegex(@"mesg=(\d+)")]
    private static partial Regex Counters();

    // Whether something listens on the port, without opening a session that a fault flag would act on:
    // /proc/net/tcp lists sockets in state 0A (LISTEN) with their local address in hex.
    private static bool Listening(int port)
    {
        var needle = $"0100007F:{port:X4} 00000000:0000 0A";
        try
        {
            return File.ReadLines("/proc/net/tcp").Any(l => l.Contains(needle, StringComparison.Ordinal));
        }
        catch (IOException)
        {
            using var tcp = new TcpClient();
            try
            {
                tcp.Connect("127.0.0.1", port);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }
    }
}

/// <summary>One transaction smtp-sink dumped: the RCPT TO arguments and the message text as received.</summary>
public sealed record SinkTransaction(IReadOnlyList<string> Recipients, string Message)
{
    internal static SinkTransaction Parse(string dump)
    {
        var recipients = new List<string>();
        foreach (var line in dump.Split('\n'))
        {
            if (line.StartsWith("X-Rcpt-Args: ", StringComparison.Ordinal))
            {
                var args = line["X-Rcpt-Args: ".Length..].Trim();
                recipients.Add(args.TrimStart('<').Split('>')[0]);
            }
        }
        return new SinkTransaction(recipients, dump);
    }
}
