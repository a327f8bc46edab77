namespace MailApi.Delivery.Smtp;

/// <summary>
/// Finds the end of the message content in what the client writes after DATA, keeping none of it: the content ends
/// at CR LF "." CR LF (RFC 5321 §4.1.1.4), and a content line that starts with "." was dot-stuffed (§4.5.2), so it
/// cannot end it early.
/// </summary>
/// <remarks>
/// Only DATA is scanned: BDAT (RFC 3030) has no terminator, and <see cref="PooledConnection.OpenAsync"/> turns
/// CHUNKING off so MailKit never sends it.
/// </remarks>
internal sealed class EndOfDataScanner
{
    private static ReadOnlySpan<byte> EndOfData => "\r\n.\r\n"u8;

    private int _matched;

    /// <summary>Between the DATA command and the end of data: client bytes are content, not commands.</summary>
    public bool Active { get; private set; }

    /// <summary>Whether any content was written since DATA.</summary>
    public bool ContentSeen { get; private set; }

    public void Start()
    {
        Active = true;
        ContentSeen = false;
        // The CR LF that ended the DATA line counts, so an empty body (just ".\r\n") ends the content too.
        _matched = 2;
    }

    public void Stop()
    {
        Active = false;
        ContentSeen = false;
        _matched = 0;
    }

    /// <summary>
    /// Scans <paramref name="data"/>; true when the end of data is in it, with <paramref name="consumed"/> the bytes up to and
    /// including the terminator (what follows are commands again). False when all of <paramref name="data"/> is content.
    /// </summary>
    public bool TryFindEnd(ReadOnlySpan<byte> data, out int consumed)
    {
        ContentSeen = true;
        var i = 0;
        while (i < data.Length)
        {
            if (_matched == 0)
            {
                var cr = data[i..].IndexOf((byte)'\r');
                if (cr < 0)
                {
                    break;
                }
                i += cr;
            }

            var b = data[i++];
            if (b == EndOfData[_matched])
            {
                if (++_matched == EndOfData.Length)
                {
                    Stop();
                    consumed = i;
                    return true;
                }
            }
            else
            {
                // Every proper prefix of CR LF "." CR LF that is also a suffix of the bytes seen starts with CR.
                _matched = b == (byte)'\r' ? 1 : 0;
            }
        }
        consumed = data.Length;
        return false;
    }
}
