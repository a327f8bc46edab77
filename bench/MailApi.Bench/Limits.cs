using System.Diagnostics;
using MailKit.Net.Smtp;
using MailKit.Security;

namespace MailApi.Bench;

/// <summary>What the machine and the library can do without the service.</summary>
internal static class Limits
{
    /// <summary>Postfix's C client: <paramref name="sessions"/> reused connections, <paramref name="messages"/> messages of ~2 KB.</summary>
    public static async Task<double> SmtpSourceAsync(int port, int sessions, int messages)
    {
        var (code, output, elapsed) = await Tool.RunAsync("/usr/sbin/smtp-source",
            ["-d", "-s", sessions.ToString(), "-m", messages.ToString(), "-l", Payload.BodyBytes.ToString(),
             "-f", "bench@domain.local", "-t", "sink@domain.local", $"127.0.0.1:{port}"], TimeSpan.FromMinutes(5));
        if (code != 0)
        {
            throw new InvalidOperationException($"smtp-source failed ({code}): {output}");
        }
        return messages / elapsed.TotalSeconds;
    }

    /// <summary>A plain MailKit loop: <paramref name="connections"/> clients, each sending its share on one connection.</summary>
    public static async Task<double> MailKitLoopAsync(int port, int connections, int messages)
    {
        var perConnection = messages / connections;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, connections).Select(async _ =>
        {
            var message = Payload.Mime();
            using var client = new SmtpClient();
            await client.ConnectAsync("127.0.0.1", port, SecureSocketOptions.None);
            for (var i = 0; i < perConnection; i++)
            {
                await client.SendAsync(message);
            }
            await client.DisconnectAsync(true);
        }));
        return perConnection * connections / watch.Elapsed.TotalSeconds;
    }
}
