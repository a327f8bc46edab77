namespace MailApi.Storage;

/// <summary>
/// Message ids are UUIDv7, so their order is their creation order. <see cref="Guid.CompareTo(Guid)"/> orders them as
/// PostgreSQL orders uuid values (byte by byte, big-endian), so the in-memory stores list in the database's order.
/// </summary>
public static class MessageOrder
{
    private static readonly Lock Gate = new();
    private static Guid _last;

    /// <summary>
    /// A new UUIDv7 for <paramref name="now"/>, greater than every id this process made before. Ids made in the same
    /// millisecond differ only in random bits, so on their own they list in random order; RFC 9562 §6.2 (method 3):
    /// when the new id is not greater, take the last one plus one.
    /// </summary>
    public static Guid NewId(DateTimeOffset now)
    {
        var id = Guid.CreateVersion7(now);
        lock (Gate)
        {
            if (id.CompareTo(_last) <= 0)
            {
                Span<byte> bytes = stackalloc byte[16];
                _last.TryWriteBytes(bytes, bigEndian: true, out _);
                // The last 8 bytes hold the variant bits (2) and random bits: add one there, skipping the variant.
                for (var i = 15; i >= 8; i--)
                {
                    if (i == 8)
                    {
                        bytes[8] = (byte)((bytes[8] & 0xC0) | ((bytes[8] + 1) & 0x3F));
                        break;
                    }
                    if (++bytes[i] != 0)
                    {
                        break;
                    }
                }
                id = new Guid(bytes, bigEndian: true);
            }
            _last = id;
        }
        return id;
    }

    /// <summary>The smallest UUIDv7 of the millisecond of <paramref name="at"/>: every id made at or after it is not below this one.</summary>
    public static Guid FirstIdAt(DateTimeOffset at)
    {
        Span<byte> bytes = stackalloc byte[16];
        var ms = at.ToUnixTimeMilliseconds();
        for (var i = 0; i < 6; i++)
        {
            bytes[i] = (byte)(ms >> (8 * (5 - i)));
        }
        bytes[6] = 0x70;
        bytes[8] = 0x80;
        return new Guid(bytes, bigEndian: true);
    }

    /// <summary>The retention step: what is left of a message once its content is dropped.</summary>
    public static StoredMessage WithoutContent(StoredMessage message) => message with
    {
        Content = message.Content with { Text = null, Html = null, Headers = new Dictionary<string, string>(), Attachments = [] },
        Attempts = message.Attempts.Select(a => a with { Transcript = [] }).ToList(),
        ContentPurged = true,
    };
}
