using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using SmtpServer;
using SmtpServer.IO;
using SmtpServer.Net;

namespace MailApi.Testing;

/// <summary>
/// The TCP side of <see cref="TestSmtpServer"/>: replaces SmtpServer's own listener so the test server can
/// count connections, learn the port it got, drop a connection on purpose and rewrite its replies.
/// </summary>
internal sealed class TestEndpointListenerFactory(Action<IPEndPoint> started, Action<TestSmtpPipe> accepted, bool hideAuth)
    : IEndpointListenerFactory
{
    public IEndpointListener CreateListener(IEndpointDefinition endpointDefinition)
    {
        var listener = new TcpListener(endpointDefinition.Endpoint);
        listener.Start();
        started((IPEndPoint)listener.LocalEndpoint);
        return new Listener(listener, accepted, hideAuth);
    }

    private sealed class Listener(TcpListener listener, Action<TestSmtpPipe> accepted, bool hideAuth) : IEndpointListener
    {
        public async Task<ISecurableDuplexPipe> GetPipeAsync(ISessionContext context, CancellationToken cancellationToken)
        {
            var client = await listener.AcceptTcpClientAsync(cancellationToken).ConfigureAwait(false);
            context.Properties[EndpointListener.LocalEndPointKey] = client.Client.LocalEndPoint!;
            context.Properties[EndpointListener.RemoteEndPointKey] = client.Client.RemoteEndPoint!;
            var pipe = new TestSmtpPipe(client, hideAuth);
            context.Properties[TestSmtpPipe.PropertyKey] = pipe;
            accepted(pipe);
            return pipe;
        }

        public void Dispose() => listener.Stop();
    }
}

/// <summary>A connection: plain at first, upgraded in place by STARTTLS.</summary>
internal sealed class TestSmtpPipe : ISecurableDuplexPipe
{
    public const string PropertyKey = "TestSmtpServer:Pipe";

    private readonly TcpClient _client;
    private readonly bool _hideAuth;
    private Stream _stream;

    public TestSmtpPipe(TcpClient client, bool hideAuth)
    {
        _client = client;
        _hideAuth = hideAuth;
        _stream = client.GetStream();
        Input = PipeReader.Create(_stream, new StreamPipeReaderOptions(leaveOpen: true));
        Output = PipeWriter.Create(new ReplyRewritingStream(_stream, hideAuth), new StreamPipeWriterOptions(leaveOpen: true));
    }

    /// <summary>Which connection this is (1-based), set by the server.</summary>
    public int Number { get; set; }

    public PipeReader Input { get; private set; }

    public PipeWriter Output { get; private set; }

    public bool IsSecure { get; private set; }

    public SslProtocols SslProtocol { get; private set; }

    public async Task UpgradeAsync(X509Certificate certificate, SslProtocols protocols, CancellationToken cancellationToken)
    {
        var ssl = new SslStream(_stream, leaveInnerStreamOpen: true);
        await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
        {
            ServerCertificate = certificate,
            EnabledSslProtocols = protocols,
            ClientCertificateRequired = false,
        }, cancellationToken).ConfigureAwait(false);

        _stream = ssl;
        Input = PipeReader.Create(ssl, new StreamPipeReaderOptions(leaveOpen: true));
        Output = PipeWriter.Create(new ReplyRewritingStream(ssl, _hideAuth), new StreamPipeWriterOptions(leaveOpen: true));
        IsSecure = true;
        SslProtocol = ssl.SslProtocol;
    }

    /// <summary>Resets the connection at once (RST, no reply, no QUIT).</summary>
    public void Abort() => SocketReset.Abort(_client);

    public void Dispose()
    {
        if (_stream is SslStream ssl)
        {
            ssl.Dispose();
        }

        _client.Dispose();
    }
}

/// <summary>
/// Sits under SmtpServer's reply writer and rewrites each reply as a whole:
/// drops the <c>, N retry(ies) remaining.</c> SmtpServer appends to replies given by exceptions;
/// shortens the EHLO greeting line to the server name, as Postfix has it; and, with
/// <paramref name="hideAuth"/>, removes the <c>AUTH</c> line SmtpServer advertises even without an authenticator.
/// </summary>
internal sealed partial class ReplyRewritingStream(Stream inner, bool hideAuth) : Stream
{
    private readonly List<byte> _pending = [];
    private readonly List<string> _reply = [];

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count)
    {
        var output = Take(buffer.AsSpan(offset, count));
        if (output.Length > 0)
        {
            inner.Write(output);
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var output = Take(buffer.Span);
        if (output.Length > 0)
        {
            await inner.WriteAsync(output, cancellationToken).ConfigureAwait(false);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Rewrites one whole reply (its lines without CRLF); returns the lines to send, CRLF-terminated.</summary>
    internal static string Rewrite(IReadOnlyList<string> reply, bool hideAuth)
    {
        var code = reply[0].Length >= 3 ? reply[0][..3] : reply[0];
        var texts = new List<string>();
        for (var i = 0; i < reply.Count; i++)
        {
            var text = reply[i].Length > 4 ? reply[i][4..] : "";
            text = RetrySuffix().Replace(text, "");
            if (i == 0 && code == "250" && reply.Count > 1)
            {
                text = EhloGreeting().Replace(text, "$1");
            }

            if (hideAuth && i > 0 && code == "250" && text.StartsWith("AUTH ", StringComparison.Ordinal))
            {
                continue;
            }

            texts.Add(text);
        }

        var result = new StringBuilder();
        for (var i = 0; i < texts.Count; i++)
        {
            result.Append(code).Append(i < texts.Count - 1 ? '-' : ' ').Append(texts[i]).Append("\r\n");
        }

        return result.ToString();
    }

    private byte[] Take(ReadOnlySpan<byte> data)
    {
        lock (_pending)
        {
            foreach (var b in data)
            {
                _pending.Add(b);
            }

            var result = new List<byte>();
            while (true)
            {
                var end = IndexOfCrLf();
                if (end < 0)
                {
                    break;
                }

                var line = Encoding.UTF8.GetString(_pending.GetRange(0, end).ToArray());
                _pending.RemoveRange(0, end + 2);
                _reply.Add(line);
                if (line.Length >= 4 && line[3] == '-')
                {
                    continue; // more lines of this reply follow
                }

                result.AddRange(Encoding.UTF8.GetBytes(Rewrite(_reply, hideAuth)));
                _reply.Clear();
            }

            return [.. result];
        }
    }

    private int IndexOfCrLf()
    {
        for (var i = 0; i + 1 < _pending.Count; i++)
        {
            if (_pending[i] == '\r' && _pending[i + 1] == '\n')
            {
                return i;
            }
        }

        return -1;
    }

    [GeneratedRegex(@", \d+ retry\(ies\) remaining\.$")]
    private static partial Regex RetrySuffix();

    [GeneratedRegex(@"^(\S+) Hello .*, haven't we met before\?$")]
    private static partial Regex EhloGreeting();
}
