using System.Text;
using MailKit;

namespace MailApi.Delivery.Smtp;

/// <summary>
/// An <see cref="IProtocolLogger"/> that turns the bytes MailKit reads and writes into command/reply pairs
/// (<see cref="TranscriptEntry"/>), per the transcript conventions (docs/API.md, "Transcript conventions"):
/// the greeting has no command, pipelined replies are matched to their commands in order,
/// AUTH shows as <c>AUTH &lt;MECH&gt; ***</c> without its challenges and answers, the message content is
/// never recorded and its end shows as the command <c>"."</c>, and a command that got no reply keeps a
/// <c>null</c> reply.
/// </summary>
/// <remarks>
/// One recorder per SMTP client; not thread-safe. It holds no message content and no credentials: content bytes
/// are only scanned for the end of data, and the bytes MailKit's <see cref="AuthenticationSecretDetector"/> reports
/// as secrets are cut out before a line is put together. Entries accumulate across connections and messages;
/// <see cref="Clear"/> starts one message's transaction.
/// </remarks>
public sealed class TranscriptRecorder : IProtocolLogger
{
    private readonly LineSplitter _clientLines = new();
    private readonly LineSplitter _serverLines = new();
    private readonly EndOfDataScanner _content = new();
    private readonly CommandReplyPairing _pairing = new();
    private readonly List<string> _replyLines = [];

    /// <summary>The entries so far, oldest first (a snapshot).</summary>
    public IReadOnlyList<TranscriptEntry> Entries => _pairing.Entries;

    /// <summary>The last entry, or <c>null</c> when there is none.</summary>
    public TranscriptEntry? LastEntry => _pairing.LastEntry;

    /// <summary>
    /// Set by MailKit's <c>SmtpClient</c> constructor on whatever logger it is given, and switched on by the client
    /// around AUTH only: it reports where the SASL initial response and answers lie in the bytes the client writes.
    /// </summary>
    public IAuthenticationSecretDetector? AuthenticationSecretDetector { get; set; }

    /// <summary>
    /// Forgets every entry except the commands still waiting for a reply (so their replies still find them),
    /// e.g. between two messages sent on one connection.
    /// </summary>
    public void Clear() => _pairing.Clear();

    /// <inheritdoc />
    public void LogConnect(Uri uri)
    {
        _pairing.NewConnection();
        _replyLines.Clear();
        _clientLines.Reset();
        _serverLines.Reset();
        _content.Stop();
    }

    /// <inheritdoc />
    public void LogClient(byte[] buffer, int offset, int count)
    {
        var end = offset + count;
        while (offset < end)
        {
            if (_content.Active)
            {
                // Content never reaches the detector: MailKit switches it on for AUTH only.
                if (_content.TryFindEnd(buffer.AsSpan(offset, end - offset), out var consumed))
                {
                    _pairing.EndOfData();
                }
                offset += consumed;
                continue;
            }

            // One line per call, as MailKit's own ProtocolLogger asks its detector: the detector keeps state from
            // call to call and reports at most one secret per call.
            var newline = Array.IndexOf(buffer, (byte)'\n', offset, end - offset);
            var lineEnd = newline < 0 ? end : newline + 1;
            var data = SecretCut.Without(AuthenticationSecretDetector, buffer, offset, lineEnd - offset);
            if (_clientLines.TryTakeLine(ref data, out var line))
            {
                OnClientLine(line);
            }
            offset = lineEnd;
        }
    }

    /// <inheritdoc />
    public void LogServer(byte[] buffer, int offset, int count)
    {
        var data = new ReadOnlySpan<byte>(buffer, offset, count);
        while (_serverLines.TryTakeLine(ref data, out var line))
        {
            OnServerLine(line);
        }
    }

    /// <summary>Does nothing: the recorder holds no unmanaged resources.</summary>
    public void Dispose()
    {
    }

    private void OnClientLine(ReadOnlySpan<byte> line)
    {
        if (_pairing.TakeSaslAnswer())
        {
            return;
        }

        if (StartsWithIgnoreCase(line, "AUTH "u8))
        {
            _pairing.AddCommand(AuthCommand(line[5..]), CommandKind.Auth);
            return;
        }

        var command = Encoding.UTF8.GetString(line);
        if (IsData(line))
        {
            _pairing.AddCommand(command, CommandKind.Data);
            // Content starts at the DATA line rather than at the 354, so that content sent early is never taken
            // for commands; a refused DATA switches back if nothing was sent (see OnServerLine).
            _content.Start();
            return;
        }
        _pairing.AddCommand(command, CommandKind.Normal);
    }

    private void OnServerLine(ReadOnlySpan<byte> line)
    {
        _replyLines.Add(Encoding.UTF8.GetString(line));
        // RFC 5321 §4.2.1: "250-" continues a reply, "250 " (or a bare "250") ends it.
        var continues = line.Length >= 4 && line[3] == (byte)'-'
            && char.IsAsciiDigit((char)line[0]) && char.IsAsciiDigit((char)line[1]) && char.IsAsciiDigit((char)line[2]);
        if (continues)
        {
            return;
        }

        var reply = SmtpReply.Parse(_replyLines);
        _replyLines.Clear();
        var answered = _pairing.AddReply(reply, _content.Active);
        if (answered == CommandKind.Data && reply.Code != 354 && _content.Active && !_content.ContentSeen)
        {
            _content.Stop();
        }
    }

    // "PLAIN <initial response>" → "AUTH PLAIN ***": only the mechanism name is ever decoded, whatever the detector found.
    private static string AuthCommand(ReadOnlySpan<byte> rest)
    {
        rest = rest.TrimStart((byte)' ');
        var space = rest.IndexOf((byte)' ');
        var mechanism = space < 0 ? rest : rest[..space];
        if (mechanism.IsEmpty)
        {
            return "AUTH ***";
        }
        return "AUTH " + Encoding.ASCII.GetString(mechanism).ToUpperInvariant() + " ***";
    }

    private static bool IsData(ReadOnlySpan<byte> line)
    {
        line = line.TrimEnd((byte)' ');
        return line.Length == 4 && StartsWithIgnoreCase(line, "DATA"u8);
    }

    private static bool StartsWithIgnoreCase(ReadOnlySpan<byte> line, ReadOnlySpan<byte> upperPrefix)
    {
        if (line.Length < upperPrefix.Length)
        {
            return false;
        }
        for (var i = 0; i < upperPrefix.Length; i++)
        {
            var c = line[i];
            if (c is >= (byte)'a' and <= (byte)'z')
            {
                c -= 0x20;
            }
            if (c != upperPrefix[i])
            {
                return false;
            }
        }
        return true;
    }
}
