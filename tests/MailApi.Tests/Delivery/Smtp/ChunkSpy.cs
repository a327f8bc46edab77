using System.Text;
using MailKit;

namespace MailApi.Tests.Delivery.Smtp;

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
