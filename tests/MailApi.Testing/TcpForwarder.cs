using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace MailApi.Testing;

/// <summary>
/// A TCP forwarder on 127.0.0.1 to a server on another local port, so a test can take the server away from a client without
/// touching the server: <see cref="Cut"/> resets every connection through it and every new one, <see cref="Restore"/>
/// lets them through again.
/// </summary>
public sealed class TcpForwarder : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _target;
    private readonly ConcurrentDictionary<TcpClient, bool> _open = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private volatile bool _cut;

    private TcpForwarder(int target)
    {
        _target = target;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Forwards a new port on 127.0.0.1 to 127.0.0.1:<paramref name="target"/>.</summary>
    public static TcpForwarder Start(int target) => new(target);

    /// <summary>Resets every open connection, and every new one until <see cref="Restore"/>: the server is gone for the client.</summary>
    public void Cut()
    {
        _cut = true;
        foreach (var client in _open.Keys)
        {
            SocketReset.Abort(client);
        }
    }

    public void Restore() => _cut = false;

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            if (_cut)
            {
                SocketReset.Abort(client);
                continue;
            }
            _ = ForwardAsync(client);
        }
    }

    private async Task ForwardAsync(TcpClient client)
    {
        using var server = new TcpClient();
        _open[client] = true;
        _open[server] = true;
        try
        {
            await server.ConnectAsync(IPAddress.Loopback, _target, _stop.Token);
            // Either direction ending ends both.
            await Task.WhenAny(client.GetStream().CopyToAsync(server.GetStream(), _stop.Token), server.GetStream().CopyToAsync(client.GetStream(), _stop.Token));
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // A cut, or the end of the test.
        }
        finally
        {
            _open.TryRemove(client, out _);
            _open.TryRemove(server, out _);
            SocketReset.Abort(client);
            SocketReset.Abort(server);
            client.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Cut();
        await _accepting;
    }
}
