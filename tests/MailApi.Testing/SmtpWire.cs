using System.Net.Sockets;
using System.Text;

namespace MailApi.Testing;

/// <summary>A bare SMTP client for tests that look at the exact reply lines on the wire.</summary>
public sealed class SmtpWire : IAsyncDisposable
{
    private readonly TcpClient _client;
    private readonly StreamReader _reader;
    private readonly Stream _stream;

    private SmtpWire(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
        _reader = new StreamReader(_stream, Encoding.UTF8, false, 1024, leaveOpen: true);
    }

    /// <summary>Connects to 127.0.0.1:<paramref name="port"/>.</summary>
    public static async Task<SmtpWire> ConnectAsync(int port, CancellationToken cancellationToken = default)
    {
        var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port, cancellationToken).ConfigureAwait(false);
        return new SmtpWire(client);
    }

    /// <summary>Reads one reply: its lines as sent (e.g. <c>250-PIPELINING</c>, <c>250 SIZE 100</c>).</summary>
    public async Task<IReadOnlyList<string>> ReadReplyAsync(CancellationToken cancellationToken = default)
    {
        var lines = new List<string>();
        while (await _reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            lines.Add(line);
            if (line.Length < 4 || line[3] != '-')
            {
                break;
            }
        }

        return lines;
    }

    /// <summary>Sends a line (CRLF appended) without reading anything.</summary>
    public async Task SendAsync(string line, CancellationToken cancellationToken = default)
    {
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(line + "\r\n"), cancellationToken).ConfigureAwait(false);
        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends a command and reads its reply.</summary>
    public async Task<IReadOnlyList<string>> CommandAsync(string line, CancellationToken cancellationToken = default)
    {
        await SendAsync(line, cancellationToken).ConfigureAwait(false);
        return await ReadReplyAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Closes the connection.</summary>
    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}
