using System.Net;
using System.Net.Sockets;
using System.Text;
using MailKit;

namespace MailApi.Tests.Delivery;

/// <summary>
/// A tiny SMTP server on 127.0.0.1 for one connection, scripted enough for MailKit to send one message:
/// EHLO (PIPELINING optional), AUTH PLAIN/LOGIN, MAIL, RCPT (one address can be refused), DATA, QUIT.
/// It keeps the commands it received (not the content) so tests can compare them with the recorder.
/// </summary>
internal sealed class ScriptedSmtpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Task _serve;
    private readonly CancellationTokenSource _stop = new();

    public bool Pipelining { get; init; } = true;
    public bool Chunking { get; init; } = true;
    public string AuthMechanisms { get; init; } = "PLAIN LOGIN";
    public string? RefuseRecipient { get; init; }
    public bool HangUpAfterDot { get; init; }
    public string QueueId { get; init; } = "4Y3Xq45ZKxz9sWN";

    public List<string> Commands { get; } = [];
    public List<string> Credentials { get; } = [];
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public ScriptedSmtpServer()
    {
        _listener.Start();
        _serve = Task.Run(ServeAsync);
    }

    private async Task ServeAsync()
    {
        using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
        await using var stream = client.GetStream();
        using var reader = new StreamReader(stream, Encoding.UTF8);

        async Task Send(string text) => await stream.WriteAsync(Encoding.ASCII.GetBytes(text), _stop.Token);

        // The greeting in two writes, as a slow server would.
        await Send("220 profbox.domain.local ES");
        await Task.Delay(20, _stop.Token);
        await Send("MTP Postfix\r\n");

        while (await reader.ReadLineAsync(_stop.Token) is { } line)
        {
            var verb = line.Split(' ', 2)[0].ToUpperInvariant();
            if (verb != "AUTH")
            {
                Commands.Add(line);
            }

            switch (verb)
            {
                case "EHLO":
                    await Send("250-profbox.domain.local\r\n" + (Pipelining ? "250-PIPELINING\r\n" : "") +
                        "250-SIZE 10240000\r\n" + (Chunking ? "250-CHUNKING\r\n250-BINARYMIME\r\n" : "") + "250-8BITMIME\r\n" +
                        $"250 AUTH {AuthMechanisms}\r\n");
                    break;
                case "AUTH":
                    Commands.Add(string.Join(' ', line.Split(' ').Take(2)) + " ***");
                    var parts = line.Split(' ');
                    if (parts[1].Equals("LOGIN", StringComparison.OrdinalIgnoreCase))
                    {
                        if (parts.Length > 2)
                        {
                            Credentials.Add(parts[2]);
                        }
                        else
                        {
                            await Send("334 VXNlcm5hbWU6\r\n");
                            Credentials.Add(await reader.ReadLineAsync(_stop.Token) ?? "");
                        }
                        await Send("334 UGFzc3dvcmQ6\r\n");
                        Credentials.Add(await reader.ReadLineAsync(_stop.Token) ?? "");
                    }
                    else if (parts.Length > 2)
                    {
                        Credentials.Add(parts[2]);
                    }
                    else
                    {
                        await Send("334 \r\n");
                        Credentials.Add(await reader.ReadLineAsync(_stop.Token) ?? "");
                    }
                    await Send("235 2.7.0 Authentication successful\r\n");
                    break;
                case "MAIL":
                    await Send("250 2.1.0 Ok\r\n");
                    break;
                case "RCPT":
                    await Send(RefuseRecipient is not null && line.Contains(RefuseRecipient, StringComparison.Ordinal)
                        ? "550 5.1.1 <" + RefuseRecipient + ">: Recipient address rejected: User unknown\r\n"
                        : "250 2.1.5 Ok\r\n");
                    break;
                case "DATA":
                    await Send("354 End data with <CR><LF>.<CR><LF>\r\n");
                    while (await reader.ReadLineAsync(_stop.Token) is { } content && content != ".")
                    {
                    }
                    Commands.Add(".");
                    if (HangUpAfterDot)
                    {
                        return;
                    }
                    // The final reply split in two writes.
                    await Send("250 2.0.0 Ok: queu");
                    await Task.Delay(20, _stop.Token);
                    await Send($"ed as {QueueId}\r\n");
                    break;
                case "RSET":
                    await Send("250 2.0.0 Ok\r\n");
                    break;
                case "QUIT":
                    await Send("221 2.0.0 Bye\r\n");
                    return;
                default:
                    await Send("502 5.5.2 Error: command not recognized\r\n");
                    break;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _serve.WaitAsync(TimeSpan.FromSeconds(10));
        }
        finally
        {
            await _stop.CancelAsync();
            _listener.Stop();
            _stop.Dispose();
        }
    }
}

/// <summary>
/// Forwards to another logger, each chunk at an offset inside a larger buffer (as any logger must expect), and keeps the
/// raw chunks, to see MailKit's write pattern, and the secrets MailKit's detector reported.
/// </summary>
internal sealed class ChunkSpy(IProtocolLogger inner) : IProtocolLogger
{
    private const int Offset = 3;

    public List<(bool Client, string Text)> Chunks { get; } = [];
    public List<string> ReportedSecrets { get; } = [];

    public IAuthenticationSecretDetector? AuthenticationSecretDetector
    {
        get => inner.AuthenticationSecretDetector;
        set => inner.AuthenticationSecretDetector = value is null ? null : new Reporting(value, ReportedSecrets);
    }

    public void LogConnect(Uri uri) => inner.LogConnect(uri);

    public void LogClient(byte[] buffer, int offset, int count)
    {
        Chunks.Add((true, Encoding.Latin1.GetString(buffer, offset, count)));
        inner.LogClient(Padded(buffer, offset, count), Offset, count);
    }

    public void LogServer(byte[] buffer, int offset, int count)
    {
        Chunks.Add((false, Encoding.Latin1.GetString(buffer, offset, count)));
        inner.LogServer(Padded(buffer, offset, count), Offset, count);
    }

    public void Dispose() => inner.Dispose();

    private static byte[] Padded(byte[] buffer, int offset, int count)
    {
        var padded = new byte[Offset + count + Offset];
        Buffer.BlockCopy(buffer, offset, padded, Offset, count);
        return padded;
    }

    /// <summary>MailKit's own detector, with a note of each secret it reports.</summary>
    private sealed class Reporting(IAuthenticationSecretDetector detector, List<string> reported) : IAuthenticationSecretDetector
    {
        public IList<AuthenticationSecret> DetectSecrets(byte[] buffer, int offset, int count)
        {
            var secrets = detector.DetectSecrets(buffer, offset, count);
            foreach (var secret in secrets)
            {
                reported.Add(Encoding.ASCII.GetString(buffer, secret.StartIndex, secret.Length));
            }
            return secrets;
        }
    }
}
