using System.Net;
using System.Net.Sockets;

namespace MailApi.Testing;

/// <summary>Finds TCP ports on 127.0.0.1 that nothing listens on.</summary>
public static class FreePort
{
    /// <summary>
    /// A port on 127.0.0.1 that was free a moment ago: connecting to it is refused until someone binds it
    /// (for example <c>TestSmtpServer.StartAsync(new() { Port = port })</c>).
    /// </summary>
    public static int Get()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }
}
