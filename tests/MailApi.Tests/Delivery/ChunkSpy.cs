using System.Text;
using MailKit;

namespace MailApi.Tests.Delivery;

/// <summary>Forwards to another logger and keeps the raw chunk sizes, to see MailKit's write pattern.</summary>
sealed class ChunkSpy(IProtocolLogger inner) : IProtocolLogger
{
    public List<(bool Client, string Text)> Chunks { get; } = [];

    public IAuthenticationSecretDetector? AuthenticationSecretDetector
    {
        get => inner.AuthenticationSecretDetector;
        set => inner.AuthenticationSecretDetector = value;
    }

    public void LogConnect(Uri uri) => inner.LogConnect(uri);

    public void LogClient(byte[] buffer, int offset, int count)
    {
        Chunks.Add((true, Encoding.Latin1.GetString(buffer, offset, count)));
        inner.LogClient(buffer, offset, count);
    }

    public void LogServer(byte[] buffer, int offset, int count)
    {
        Chunks.Add((false, Encoding.Latin1.GetString(buffer, offset, count)));
        inner.LogServer(buffer, offset, count);
    }

    public void Dispose() => inner.Dispose();
}
