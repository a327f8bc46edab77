using System.Net.Sockets;
using System.Threading.RateLimiting;
using MailApi.Delivery.Relays;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;

namespace MailApi.Delivery.Smtp;

/// <summary>
/// One connection to the relay with its own MailKit client and transcript recorder, used by one worker at a time
/// (MailKit clients are not thread-safe). It is opened once (connect, greeting, EHLO, STARTTLS, AUTH) and then
/// carries messages one transaction after another until it is closed.
/// </summary>
internal sealed class PooledConnection : IDisposable
{
    private readonly Socket _socket;

    public PooledConnection(string id, RelayOptions settings)
    {
        Id = id;
        Settings = settings;
        Recorder = new TranscriptRecorder();
        Client = new DeliveryClient(new Telemetry.SmtpTracing(Recorder, settings.Upstream))
        {
            LocalDomain = settings.HeloName,
            Timeout = (int)settings.Timeout.TotalMilliseconds,
        };
        if (settings.AcceptAnyCertificate)
        {
            Client.ServerCertificateValidationCallback = (_, _, _, _) => true;
            Client.CheckCertificateRevocation = false;
        }
        _socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
    }

    /// <summary>Names the connection in attempts (<see cref="AttemptResult.ConnectionId"/>) and logs.</summary>
    public string Id { get; }

    /// <summary>The relay the connection goes to.</summary>
    public RelayOptions Settings { get; }

    /// <summary>The pool's permit this connection holds while a worker has it (<see cref="SmtpConnectionPool.RentAsync"/>).</summary>
    public RateLimitLease? Slot { get; set; }

    public DeliveryClient Client { get; }

    /// <summary>Every command and reply on this connection; cleared at the start of each transaction.</summary>
    public TranscriptRecorder Recorder { get; }

    /// <summary>Whether the greeting, EHLO, STARTTLS and AUTH are done (the connection was opened before).</summary>
    public bool IsOpen => Client.IsConnected;

    /// <summary>Transactions started on this connection (whatever their outcome).</summary>
    public int Transactions { get; set; }

    /// <summary>When the connection was last handed back to the pool.</summary>
    public DateTimeOffset IdleSince { get; set; }

    /// <summary>Set by the worker when the connection is known to be between transactions and fit for the next one.</summary>
    public bool Reusable { get; set; }

    /// <summary>Connect, greeting, EHLO, STARTTLS as configured, AUTH when credentials are configured and offered.</summary>
    public async Task OpenAsync(ILogger logger, CancellationToken cancellationToken)
    {
        var smtp = Settings;
        using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            // Our own socket rather than MailKit's, so an idle connection can be checked without a round trip (LooksAlive).
            connectTimeout.CancelAfter(smtp.Timeout);
            await _socket.ConnectAsync(smtp.Host, smtp.Port, connectTimeout.Token);
        }
        await Client.ConnectAsync(_socket, smtp.Host, smtp.Port, ToMailKit(smtp.Security), cancellationToken);
        // DATA rather than BDAT (CHUNKING, RFC 3030): the dialogue our users know, a transcript with its 354, and the one
        // way the recorder tells content from commands. BDAT content has no terminator, only a byte count, so the
        // recorder, which scans for the end of data, would read a BDAT message as commands and record its lines.
        // BINARYMIME goes too: RFC 3030 §3 allows it with BDAT only.
        Client.Capabilities &= ~(SmtpCapabilities.Chunking | SmtpCapabilities.BinaryMime);
        if (smtp.HasCredentials && Client.Capabilities.HasFlag(SmtpCapabilities.Authentication))
        {
            if (!Client.IsSecure)
            {
                logger.LogWarning("Authenticating to {Upstream} without TLS ({Key}:Security is {Security})", smtp.Upstream, smtp.Key, smtp.Security);
            }
            await Client.AuthenticateAsync(smtp.Username!, smtp.Password ?? "", cancellationToken);
        }
    }

    /// <summary>
    /// Whether an idle connection can take the next transaction: still connected, and nothing waiting to be read.
    /// A relay that timed us out has closed the socket (readable, no data) or said <c>421</c> first (readable, data):
    /// either way the connection is done, and this costs no round trip.
    /// </summary>
    public bool LooksAlive()
    {
        if (!Client.IsConnected)
        {
            return false;
        }
        try
        {
            return !_socket.Poll(0, SelectMode.SelectRead);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>Says QUIT (bounded by a few seconds) and closes; a relay that hangs up first changes nothing.</summary>
    public async Task QuitQuietlyAsync()
    {
        if (!Client.IsConnected)
        {
            return;
        }
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await Client.DisconnectAsync(quit: true, timeout.Token);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or SmtpProtocolException or SmtpCommandException)
        {
            // Whatever the relay says to QUIT, the connection is closed now.
        }
    }

    public void Dispose()
    {
        Client.Dispose();
        _socket.Dispose();
    }

    private static SecureSocketOptions ToMailKit(SmtpSecurity security) => security switch
    {
        SmtpSecurity.None => SecureSocketOptions.None,
        SmtpSecurity.StartTls => SecureSocketOptions.StartTls,
        SmtpSecurity.StartTlsWhenAvailable => SecureSocketOptions.StartTlsWhenAvailable,
        SmtpSecurity.SslOnConnect => SecureSocketOptions.SslOnConnect,
        _ => SecureSocketOptions.Auto,
    };
}
