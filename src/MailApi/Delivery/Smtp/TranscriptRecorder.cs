using System.Text;
using MailKit;

namespace MailApi.Delivery.Smtp;

/// <summary>
/// An <see cref="IProtocolLogger"/> that turns the bytes MailKit reads and writes into command/reply pairs
/// (<see cref="TranscriptEntry"/>), per the transcript conventions of the HTTP contract:
/// the greeting has no command, pipelined replies are matched to their commands in order,
/// AUTH shows as <c>AUTH &lt;MECH&gt; ***</c> without its challenges and answers, the message content is
/// never recorded and its end shows as the command <c>"."</c>, and a command that got no reply keeps a
/// <c>null</c> reply.
/// </summary>
/// <remarks>
/// One recorder per SMTP client; not thread-safe. It holds no message content and no credentials: content bytes
/// are only scanned for the end-of-data sequence, and AUTH answers are skipped without being decoded.
/// Entries accumulate across connections and messages; call <see cref="Clear"/> (or take
/// <see cref="EntriesSince"/> a <see cref="Count"/> noted before) to take one message's transaction.
/// </remarks>
public sealed class TranscriptRecorder : IProtocolLogger
{
    private enum Kind : byte { Normal, Auth, Data }

    private enum ClientMode : byte { Commands, Content, Binary }

    private enum AuthState : byte { None, AwaitingReply, AwaitingAnswer }

    private readonly record struct Pending(int Index, Kind Kind);

    // SMTP lines are at most 1000 bytes (RFC 5321) and AUTH lines up to 12288 (RFC 4954); anything longer is cut.
    private const int MaxLineBytes = 64 * 1024;

    private static readonly byte[] EndOfData = "\r\n.\r\n"u8.ToArray();

    private readonly List<TranscriptEntry> _entries = [];
    private Queue<Pending> _pending = new();
    private readonly List<string> _replyLines = [];

    private byte[] _clientLine = new byte[512];
    private int _clientLineLength;
    private byte[] _serverLine = new byte[512];
    private int _serverLineLength;

    private ClientMode _clientMode;
    private int _endOfDataMatched;
    private bool _contentSeen;
    private long _binaryRemaining;
    private AuthState _auth;
    // A reply that came during the message content, before the end of data was sent (a relay aborting the data
    // phase, e.g. "550" right after its 354): MailKit reads it as the reply to the end of data, and so does the transcript.
    private int _earlyReplyIndex = -1;

    /// <summary>The entries so far, oldest first (a snapshot).</summary>
    public IReadOnlyList<TranscriptEntry> Entries => _entries.ToArray();

    /// <summary>How many entries there are; pass it later to <see cref="EntriesSince"/>.</summary>
    public int Count => _entries.Count;

    /// <summary>How many connections were started (<see cref="LogConnect"/> calls).</summary>
    public int ConnectionCount { get; private set; }

    /// <summary>How many recorded commands still wait for their reply on the current connection.</summary>
    public int PendingCount => _pending.Count;

    /// <summary>The last reply recorded (AUTH challenges excepted), or <c>null</c>.</summary>
    public SmtpReply? LastReply { get; private set; }

    /// <summary>The last entry, or <c>null</c> when there is none.</summary>
    public TranscriptEntry? LastEntry => _entries.Count > 0 ? _entries[^1] : null;

    /// <summary>Not used: secrets are kept out by following the AUTH exchange, not by this detector.</summary>
    public IAuthenticationSecretDetector? AuthenticationSecretDetector { get; set; }

    /// <summary>The entries from <paramref name="index"/> on (a snapshot), e.g. one message's transaction.</summary>
    public IReadOnlyList<TranscriptEntry> EntriesSince(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        if (index >= _entries.Count)
        {
            return [];
        }

        return _entries.GetRange(index, _entries.Count - index).ToArray();
    }

    /// <summary>The last entry that matches <paramref name="predicate"/>, e.g. <c>e =&gt; e.Command == "."</c>.</summary>
    public TranscriptEntry? FindLast(Func<TranscriptEntry, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        for (var i = _entries.Count - 1; i >= 0; i--)
        {
            if (predicate(_entries[i]))
            {
                return _entries[i];
            }
        }
        return null;
    }

    /// <summary>
    /// Forgets every entry except the commands still waiting for a reply (so their replies still find them),
    /// e.g. between two messages sent on one connection.
    /// </summary>
    public void Clear()
    {
        if (_pending.Count == 0)
        {
            _entries.Clear();
            return;
        }

        var kept = new List<TranscriptEntry>(_pending.Count);
        var pending = new Queue<Pending>(_pending.Count);
        foreach (var p in _pending)
        {
            pending.Enqueue(p with { Index = kept.Count });
            kept.Add(_entries[p.Index]);
        }
        _entries.Clear();
        _entries.AddRange(kept);
        _pending = pending;
    }

    /// <inheritdoc />
    public void LogConnect(Uri uri)
    {
        // Commands of an earlier connection that never got a reply stay in the entries with a null reply.
        ConnectionCount++;
        _pending.Clear();
        _replyLines.Clear();
        Array.Clear(_clientLine, 0, _clientLineLength);
        _clientLineLength = 0;
        _serverLineLength = 0;
        _clientMode = ClientMode.Commands;
        _endOfDataMatched = 0;
        _contentSeen = false;
        _binaryRemaining = 0;
        _auth = AuthState.None;
        _earlyReplyIndex = -1;
    }

    /// <inheritdoc />
    public void LogClient(byte[] buffer, int offset, int count)
    {
        var data = new ReadOnlySpan<byte>(buffer, offset, count);
        while (!data.IsEmpty)
        {
            data = _clientMode switch
            {
                ClientMode.Content => ConsumeContent(data),
                ClientMode.Binary => ConsumeBinary(data),
                _ => ConsumeCommandLine(data),
            };
        }
    }

    /// <inheritdoc />
    public void LogServer(byte[] buffer, int offset, int count)
    {
        var data = new ReadOnlySpan<byte>(buffer, offset, count);
        while (!data.IsEmpty)
        {
            var newline = data.IndexOf((byte)'\n');
            if (newline < 0)
            {
                Append(ref _serverLine, ref _serverLineLength, data);
                return;
            }

            if (_serverLineLength == 0)
            {
                OnServerLine(TrimCr(data[..newline]));
            }
            else
            {
                Append(ref _serverLine, ref _serverLineLength, data[..newline]);
                OnServerLine(TrimCr(_serverLine.AsSpan(0, _serverLineLength)));
                _serverLineLength = 0;
            }
            data = data[(newline + 1)..];
        }
    }

    /// <summary>Does nothing: the recorder holds no unmanaged resources.</summary>
    public void Dispose()
    {
    }

    private ReadOnlySpan<byte> ConsumeCommandLine(ReadOnlySpan<byte> data)
    {
        var newline = data.IndexOf((byte)'\n');
        if (newline < 0)
        {
            Append(ref _clientLine, ref _clientLineLength, data);
            return [];
        }

        if (_clientLineLength == 0)
        {
            OnClientLine(TrimCr(data[..newline]));
        }
        else
        {
            Append(ref _clientLine, ref _clientLineLength, data[..newline]);
            OnClientLine(TrimCr(_clientLine.AsSpan(0, _clientLineLength)));
            // The carried bytes may have been an AUTH answer: do not leave them lying in the buffer.
            Array.Clear(_clientLine, 0, _clientLineLength);
            _clientLineLength = 0;
        }
        return data[(newline + 1)..];
    }

    // Scans message content for CRLF.CRLF without keeping any of it. The match state starts at 2 on DATA
    // (the CRLF that ended the DATA line counts), so an empty body ".\r\n" also ends the content.
    private ReadOnlySpan<byte> ConsumeContent(ReadOnlySpan<byte> data)
    {
        _contentSeen = true;
        var i = 0;
        while (i < data.Length)
        {
            if (_endOfDataMatched == 0)
            {
                var cr = data[i..].IndexOf((byte)'\r');
                if (cr < 0)
                {
                    return [];
                }

                i += cr;
            }

            var b = data[i++];
            if (b == EndOfData[_endOfDataMatched])
            {
                if (++_endOfDataMatched == EndOfData.Length)
                {
                    _endOfDataMatched = 0;
                    _clientMode = ClientMode.Commands;
                    if (_earlyReplyIndex >= 0 && _earlyReplyIndex == _entries.Count - 1)
                    {
                        _entries[_earlyReplyIndex] = new TranscriptEntry(".", _entries[_earlyReplyIndex].Reply);
                        _earlyReplyIndex = -1;
                        return data[i..];
                    }
                    _earlyReplyIndex = -1;
                    AddCommand(".", Kind.Normal);
                    return data[i..];
                }
            }
            else
            {
                // Every proper prefix of CRLF.CRLF that is also a suffix of the bytes seen starts with CR.
                _endOfDataMatched = b == (byte)'\r' ? 1 : 0;
            }
        }
        return [];
    }

    private ReadOnlySpan<byte> ConsumeBinary(ReadOnlySpan<byte> data)
    {
        var n = (int)Math.Min(_binaryRemaining, data.Length);
        _binaryRemaining -= n;
        if (_binaryRemaining == 0)
        {
            _clientMode = ClientMode.Commands;
        }

        return data[n..];
    }

    private void OnClientLine(ReadOnlySpan<byte> line)
    {
        if (_auth != AuthState.None)
        {
            // SASL answers are base64, "*" or empty: never a space. A line with a space is a new command.
            if (line.IndexOf((byte)' ') < 0)
            {
                _auth = AuthState.AwaitingReply;
                return;
            }

            if (_auth == AuthState.AwaitingAnswer)
            {
                // The client left the exchange after a challenge: the AUTH command ends without a reply.
                if (_pending.Count > 0 && _pending.Peek().Kind == Kind.Auth)
                {
                    _pending.Dequeue();
                }

                _auth = AuthState.None;
            }
        }

        if (StartsWithIgnoreCase(line, "AUTH "u8))
        {
            AddCommand(AuthCommand(line[5..]), Kind.Auth);
            _auth = AuthState.AwaitingReply;
            return;
        }

        var command = Encoding.UTF8.GetString(line);
        if (IsData(line))
        {
            AddCommand(command, Kind.Data);
            // Content mode starts now rather than at the 354, so that content sent early is never taken
            // for commands; a refused DATA switches back if nothing was sent (see OnReply).
            _clientMode = ClientMode.Content;
            _endOfDataMatched = 2;
            _contentSeen = false;
            return;
        }

        AddCommand(command, Kind.Normal);
        if (StartsWithIgnoreCase(line, "BDAT "u8) && TryParseChunkSize(line[5..], out var size) && size > 0)
        {
            _clientMode = ClientMode.Binary;
            _binaryRemaining = size;
        }
    }

    private void OnServerLine(ReadOnlySpan<byte> line)
    {
        _replyLines.Add(Encoding.UTF8.GetString(line));
        var continues = line.Length >= 4 && line[3] == (byte)'-'
            && IsDigit(line[0]) && IsDigit(line[1]) && IsDigit(line[2]);
        if (continues)
        {
            return;
        }

        var reply = SmtpReply.Parse(_replyLines);
        _replyLines.Clear();
        OnReply(reply);
    }

    private void OnReply(SmtpReply reply)
    {
        if (_pending.Count == 0)
        {
            // The greeting, or an unsolicited reply such as a 421 before the server hangs up.
            if (_clientMode == ClientMode.Content && _earlyReplyIndex < 0)
            {
                _earlyReplyIndex = _entries.Count;
            }

            _entries.Add(new TranscriptEntry(null, reply));
            LastReply = reply;
            return;
        }

        var head = _pending.Peek();
        if (head.Kind == Kind.Auth && reply.Code == 334)
        {
            // A SASL challenge: not recorded; the client's next line is a secret answer.
            _auth = AuthState.AwaitingAnswer;
            return;
        }

        _pending.Dequeue();
        _entries[head.Index] = _entries[head.Index] with { Reply = reply };
        LastReply = reply;

        if (head.Kind == Kind.Auth)
        {
            _auth = AuthState.None;
        }
        else if (head.Kind == Kind.Data && reply.Code != 354 && _clientMode == ClientMode.Content && !_contentSeen)
        {
            _clientMode = ClientMode.Commands;
        }
    }

    private void AddCommand(string command, Kind kind)
    {
        _pending.Enqueue(new Pending(_entries.Count, kind));
        _entries.Add(new TranscriptEntry(command, null));
    }

    // "PLAIN <initial response>" → "AUTH PLAIN ***"; only the mechanism name is ever decoded.
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

    private static bool TryParseChunkSize(ReadOnlySpan<byte> rest, out long size)
    {
        size = 0;
        rest = rest.TrimStart((byte)' ');
        var digits = 0;
        while (digits < rest.Length && IsDigit(rest[digits]) && digits < 18)
        {
            size = size * 10 + (rest[digits] - (byte)'0');
            digits++;
        }
        return digits > 0;
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

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';

    private static ReadOnlySpan<byte> TrimCr(ReadOnlySpan<byte> line) =>
        line.Length > 0 && line[^1] == (byte)'\r' ? line[..^1] : line;

    private static void Append(ref byte[] buffer, ref int length, ReadOnlySpan<byte> data)
    {
        var room = MaxLineBytes - length;
        if (data.Length > room)
        {
            data = data[..Math.Max(room, 0)];
        }

        if (length + data.Length > buffer.Length)
        {
            var bigger = new byte[Math.Min(MaxLineBytes, Math.Max(buffer.Length * 2, length + data.Length))];
            buffer.AsSpan(0, length).CopyTo(bigger);
            Array.Clear(buffer);
            buffer = bigger;
        }
        data.CopyTo(buffer.AsSpan(length));
        length += data.Length;
    }
}
