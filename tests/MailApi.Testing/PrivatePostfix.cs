using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace MailApi.Testing;

/// <summary>
/// A relay Postfix of one test's own: <c>tests/relays/postfix.sh start --profile relay</c> in a folder of its own on free
/// ports, for a test that changes its configuration (where bounces go, say) without touching the relay the other tests
/// share. Skips the test, saying how to get what is missing, without Postfix or without root (Postfix's master runs as
/// root). Stopped and its folder removed on dispose.
/// </summary>
public sealed class PrivatePostfix : IAsyncDisposable
{
    private const string HowToGet =
        "Postfix is not installed: `sudo bash tests/relays/postfix.sh start` installs it with apt-get (.ci/run does).";

    private readonly string _script;

    private PrivatePostfix(string script, string dir, PostfixRelay relay)
    {
        _script = script;
        Dir = dir;
        Relay = relay;
    }

    /// <summary>The instance's folder: its configuration in <see cref="ConfigDir"/>, queue, log and Maildirs.</summary>
    public string Dir { get; }

    /// <summary>Its main.cf, master.cf and tables (what <c>postfix -c</c> takes).</summary>
    public string ConfigDir => Path.Combine(Dir, "etc");

    /// <summary>What the script says of it: ports, Maildirs, log, SASL user.</summary>
    public PostfixRelay Relay { get; }

    /// <summary>A new relay Postfix, running; <paramref name="repositoryRoot"/> holds tests/relays/postfix.sh.</summary>
    public static async Task<PrivatePostfix> StartAsync(string repositoryRoot)
    {
        if (!File.Exists("/usr/sbin/postfix"))
        {
            Assert.Skip(HowToGet);
        }
        if (Environment.UserName != "root")
        {
            Assert.Skip("A Postfix of the test's own needs root (its master process runs as root): run the tests as root, as .ci/run does.");
        }
        var script = Path.Combine(repositoryRoot, "tests", "relays", "postfix.sh");
        var dir = Directory.CreateTempSubdirectory("mailapi-postfix-").FullName;
        // Postfix's own users (and a pipe's user) must reach the files under it.
        await BashAsync($"chmod 755 '{dir}'");
        for (var tries = 1; ; tries++)
        {
            // Three ports in a row (the script's PORT, PORT+1, PORT+2): free a moment ago, so possibly taken by the time
            // Postfix binds them; then the start fails, and another three are tried.
            var port = ThreeFreePorts();
            var (code, output) = await BashAsync($"bash '{script}' start --profile relay {port} '{dir}'");
            if (code == 0)
            {
                return new PrivatePostfix(script, dir, PostfixRelay.At(dir));
            }
            if (tries == 3)
            {
                Directory.Delete(dir, recursive: true);
                throw new InvalidOperationException($"postfix.sh start failed ({code}):\n{output}");
            }
        }
    }

    /// <summary>Runs <paramref name="command"/> with bash; throws with its output when it fails.</summary>
    public async Task RunAsync(string command)
    {
        var (code, output) = await BashAsync(command);
        if (code != 0)
        {
            throw new InvalidOperationException($"`{command}` exited with {code}:\n{output}");
        }
    }

    /// <summary>
    /// Stops and starts the instance, so every one of its processes reads the configuration as it now is (after a reload,
    /// a process of the old generation may still serve a request or two), and waits until it answers again.
    /// </summary>
    public async Task RestartAsync()
    {
        await RunAsync($"postfix -c '{ConfigDir}' stop > /dev/null 2>&1 && postfix -c '{ConfigDir}' start");
        await Poll.UntilAsync(() => PostfixRelay.Greeting(Relay.Port)?.StartsWith("220 ", StringComparison.Ordinal) == true,
            TimeSpan.FromSeconds(30), $"Postfix in {Dir} to answer on 127.0.0.1:{Relay.Port} again");
    }

    public async ValueTask DisposeAsync()
    {
        await BashAsync($"bash '{_script}' stop '{Dir}'");
        Directory.Delete(Dir, recursive: true);
    }

    private static int ThreeFreePorts()
    {
        while (true)
        {
            var port = FreePort.Get();
            if (port + 2 <= IPEndPoint.MaxPort && Free(port + 1) && Free(port + 2))
            {
                return port;
            }
        }
    }

    private static bool Free(int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        try
        {
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        finally
        {
            listener.Stop();
        }
    }

    /// <summary>Runs <paramref name="command"/> with bash; its exit code and what it printed.</summary>
    internal static async Task<(int Code, string Output)> BashAsync(string command)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output + await error);
    }
}
