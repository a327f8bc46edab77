namespace MailApi.Delivery.Smtp;

/// <summary>
/// Cuts one direction of the dialogue into lines. MailKit hands its protocol logger socket chunks, not lines:
/// a whole multi-line EHLO reply can arrive in one chunk and a single reply can be split over several.
/// </summary>
internal sealed class LineSplitter
{
    // SMTP lines are at most 1000 bytes (RFC 5321 §4.5.3.1.6) and AUTH lines up to 12288 (RFC 4954 §4); anything longer is cut.
    internal const int MaxLineBytes = 64 * 1024;

    private byte[] _carried = new byte[512];
    private int _length;
    private bool _handedOut;

    /// <summary>
    /// Takes the next complete line from <paramref name="data"/>, without its CR LF, and moves <paramref name="data"/> past it.
    /// False when <paramref name="data"/> ends mid-line: its bytes are kept and continue the line in the next chunk.
    /// The line is valid until the next call.
    /// </summary>
    public bool TryTakeLine(ref ReadOnlySpan<byte> data, out ReadOnlySpan<byte> line)
    {
        if (_handedOut)
        {
            Reset();
        }

        var newline = data.IndexOf((byte)'\n');
        if (newline < 0)
        {
            Carry(data);
            data = [];
            line = default;
            return false;
        }

        if (_length == 0)
        {
            line = TrimCr(data[..newline]);
        }
        else
        {
            Carry(data[..newline]);
            line = TrimCr(_carried.AsSpan(0, _length));
            _handedOut = true;
        }
        data = data[(newline + 1)..];
        return true;
    }

    /// <summary>Forgets a partial line, e.g. the last one of a connection that dropped.</summary>
    public void Reset()
    {
        // Nothing of a line outlives it: a carried line may have held an address or a command argument.
        Array.Clear(_carried, 0, _length);
        _length = 0;
        _handedOut = false;
    }

    private void Carry(ReadOnlySpan<byte> data)
    {
        var room = MaxLineBytes - _length;
        if (data.Length > room)
        {
            data = data[..Math.Max(room, 0)];
        }
        if (_length + data.Length > _carried.Length)
        {
            var bigger = new byte[Math.Min(MaxLineBytes, Math.Max(_carried.Length * 2, _length + data.Length))];
            _carried.AsSpan(0, _length).CopyTo(bigger);
            Array.Clear(_carried);
            _carried = bigger;
        }
        data.CopyTo(_carried.AsSpan(_length));
        _length += data.Length;
    }

    private static ReadOnlySpan<byte> TrimCr(ReadOnlySpan<byte> line) =>
        line.Length > 0 && line[^1] == (byte)'\r' ? line[..^1] : line;
}
