using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace MailApi.Testing;

/// <summary>
/// A bare TCP server on 127.0.0.1 for what <see cref="TestSmtpServer"/> cannot play: wire-level faults (a 421
/// greeting, a hang-up after the final dot, a broken TLS handshake) and replies exact to the byte (Postfix's wording,
/// replies that arrive in pieces). Each connection runs the handler given to <see cref="Start"/>, or a line-by-line
/// <see cref="Dialogue"/>.
/// </summary>
public sealed class RawSmtpServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Func<RawSmtpConnection, CancellationToken, Task> _handler;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<RawSmtpConnection, Task> _connections = new();
    private readonly ConcurrentQueue<string> _received = new();
    private readonly Task _accepting;
    private int _connectionCount;

    private RawSmtpServer(int port, Func<RawSmtpConnection, CancellationToken, Task> handler)
    {
        _handler = handler;
        _listener = new TcpListener(IPAddress.Loopback, port);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptLoopAsync();
    }

    /// <summary>The port the server listens on (on 127.0.0.1).</summary>
    public int Port { get; }

    /// <summary>How many connections were accepted.</summary>
    public int ConnectionCount => Volatile.Read(ref _connectionCount);

    /// <summary>Every line clients sent (commands and message lines), in order, across connections.</summary>
    public IReadOnlyList<string> ReceivedLines => [.. _received];

    /// <summary>Starts a server that runs <paramref name="handler"/> for each connection (closed afterwards).</summary>
    public static RawSmtpServer Start(Func<RawSmtpConnection, CancellationToken, Task> handler, int port = 0) =>
        new(port, handler);

    /// <summary>Sends <paramref name="greeting"/> (default <c>421 4.3.2 Service not available</c>) and closes.</summary>
    public static RawSmtpServer GreetAndClose(string greeting = "421 4.3.2 Service not available", int port = 0) =>
        Start(async (c, ct) => await c.SendAsync(greeting, ct).ConfigureAwait(false), port);

    /// <summary>
    /// A line-by-line dialogue: greets with <paramref name="greeting"/>, then answers each command line with
    /// <c>answer(line)</c>. The message after a 354 is read up to its final dot, which is answered as the
    /// command <c>"."</c>. An answer of null hangs up (closes the connection without a reply). See <see cref="DefaultAnswer"/> and
    /// <see cref="PostfixAnswers"/>. With <paramref name="splitReplies"/> each reply is written in two halves, as a
    /// slow server's would come.
    /// </summary>
    public static RawSmtpServer Dialogue(Func<string, string?> answer, string greeting = "220 raw.localhost ESMTP RawSmtpServer",
        bool splitReplies = false) =>
        Start((c, ct) => DialogueAsync(c, answer, greeting, splitReplies, ct));

    /// <summary>
    /// The dialogue of <see cref="Dialogue"/> on one connection, for a handler that plays it on some connections only
    /// (a fault on the first, say).
    /// </summary>
    public static async Task DialogueAsync(RawSmtpConnection c, Func<string, string?> answer, string greeting, bool splitReplies,
        CancellationToken ct)
    {
        async Task Reply(string reply)
        {
            if (!splitReplies)
            {
                await c.SendAsync(reply, ct).ConfigureAwait(false);
                return;
            }

            var whole = reply + "\r\n";
            await c.WriteAsync(whole[..(whole.Length / 2)], ct).ConfigureAwait(false);
            // Not a wait for a state: a pause between the halves, so that they leave in two TCP segments.
            await Task.Delay(20, ct).ConfigureAwait(false);
            await c.WriteAsync(whole[(whole.Length / 2)..], ct).ConfigureAwait(false);
        }

        await Reply(greeting).ConfigureAwait(false);
        while (await c.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
        {
            var reply = answer(line);
            if (reply is null)
            {
                return;
            }

            await Reply(reply).ConfigureAwait(false);
            if (reply.StartsWith("354", StringComparison.Ordinal))
            {
                await c.ReadMessageAsync(ct).ConfigureAwait(false);
                var final = answer(".");
                if (final is null)
                {
                    return;
                }

                await Reply(final).ConfigureAwait(false);
            }
            else if (reply.StartsWith("221", StringComparison.Ordinal) || reply.StartsWith("421", StringComparison.Ordinal))
            {
                return;
            }
        }
    }

    /// <summary>
    /// Offers STARTTLS, says <c>220</c> to it, then answers the TLS ClientHello with plain text: a TLS handshake that fails.
    /// Commands before STARTTLS other than EHLO get <c>503</c>.
    /// </summary>
    public static RawSmtpServer BrokenTls() => Start(async (c, ct) =>
    {
        await c.SendAsync("220 raw.localhost ESMTP", ct).ConfigureAwait(false);
        while (await c.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
        {
            if (line.StartsWith("EHLO", StringComparison.OrdinalIgnoreCase))
            {
                await c.SendAsync("250-raw.localhost\r\n250-STARTTLS\r\n250 8BITMIME", ct).ConfigureAwait(false);
            }
            else if (line.Equals("STARTTLS", StringComparison.OrdinalIgnoreCase))
            {
                await c.SendAsync("220 2.0.0 Ready to start TLS\r\nthis is not a TLS ServerHello", ct).ConfigureAwait(false);
                return;
            }
            else
            {
                await c.SendAsync("503 5.5.1 Error: send STARTTLS first", ct).ConfigureAwait(false);
            }
        }
    });

    /// <summary>
    /// Postfix-like answers (no PIPELINING, no AUTH, no STARTTLS): EHLO/HELO, MAIL, RCPT, DATA, the final
    /// <c>.</c> (<c>250 2.0.0 Ok: queued as RAW0000001</c>), RSET, NOOP, QUIT; anything else 502.
    /// Multi-line replies are separated by CRLF.
    /// </summary>
    public static string DefaultAnswer(string command)
    {
        var verb = command.Split(' ', 2)[0].ToUpperInvariant();
        return verb switch
        {
            "EHLO" => "250-raw.localhost\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES",
            "HELO" => "250 raw.localhost",
            "MAIL" => "250 2.1.0 Ok",
            "RCPT" => "250 2.1.5 Ok",
            "DATA" => "354 End data with <CR><LF>.<CR><LF>",
            "." => "250 2.0.0 Ok: queued as RAW0000001",
            "RSET" => "250 2.0.0 Ok",
            "NOOP" => "250 2.0.0 Ok",
            "QUIT" => "221 2.0.0 Bye",
            _ => "502 5.5.2 Error: command not recognized",
        };
    }

    /// <summary>Stops listening, resets open connections and frees the port.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        foreach (var connection in _connections.Keys)
        {
            connection.Abort();
        }

        try
        {
            await Task.WhenAll([_accepting, .. _connections.Values]).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException or SocketException or IOException or ObjectDisposedException)
        {
        }

        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            Interlocked.Increment(ref _connectionCount);
            var connection = new RawSmtpConnection(client, _received);
            _connections[connection] = RunAsync(connection, token);
        }
    }

    private async Task RunAsync(RawSmtpConnection connection, CancellationToken token)
    {
        await Task.Yield();
        try
        {
            await _handler(connection, token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
        {
        }
        finally
        {
            connection.Dispose();
            _connections.TryRemove(connection, out _);
        }
    }
}

/// <summary>One connection to a <see cref="RawSmtpServer"/>.</summary>
public sealed class RawSmtpConnection : IDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly ConcurrentQueue<string> _received;
    private readonly byte[] _buffer = new byte[8192];
    private readonly List<byte> _pending = [];

    internal RawSmtpConnection(TcpClient client, ConcurrentQueue<string> received)
    {
        _client = client;
        _stream = client.GetStream();
        _received = received;
    }

    /// <summary>Sends <paramref name="reply"/> followed by CRLF.</summary>
    public Task SendAsync(string reply, CancellationToken cancellationToken = default) =>
        WriteAsync(reply + "\r\n", cancellationToken);

    /// <summary>Sends <paramref name="text"/> as it is (no CRLF added).</summary>
    internal async Task WriteAsync(string text, CancellationToken cancellationToken)
    {
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken).ConfigureAwait(false);
        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The next line from the client without its CRLF, or null when it closed the connection.</summary>
    public async Task<string?> ReadLineAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            for (var i = 0; i + 1 < _pending.Count; i++)
            {
                if (_pending[i] == '\r' && _pending[i + 1] == '\n')
                {
                    var line = Encoding.UTF8.GetString(_pending.GetRange(0, i).ToArray());
                    _pending.RemoveRange(0, i + 2);
                    _received.Enqueue(line);
                    return line;
                }
            }

            var read = await _stream.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return null;
            }

            _pending.AddRange(_buffer.AsSpan(0, read));
        }
    }

    /// <summary>Reads message lines up to the final <c>.</c>; returns them (still dot-stuffed) or null on close.</summary>
    public async Task<IReadOnlyList<string>?> ReadMessageAsync(CancellationToken cancellationToken = default)
    {
        var lines = new List<string>();
        while (await ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (line == ".")
            {
                return lines;
            }

            lines.Add(line);
        }

        return null;
    }

    /// <summary>Resets the connection at once (RST).</summary>
    public void Abort() => SocketReset.Abort(_client);

    /// <summary>Closes the connection.</summary>
    public void Dispose() => _client.Dispose();
}
