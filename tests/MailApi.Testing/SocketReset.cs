using System.Net.Sockets;

namespace MailApi.Testing;

/// <summary>Ends a test server's connection at once with a TCP reset: no reply, no QUIT.</summary>
internal static class SocketReset
{
    public static void Abort(TcpClient client)
    {
        // Dispose nulls TcpClient.Client; a connection that ended on its own has nothing left to reset.
        if (client.Client is not { } socket)
        {
            return;
        }
        try
        {
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
