using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace MailApi.Bounces;

/// <summary>
/// The VERP return path: <c>{token}</c> is the message id and an HMAC of it (key <see cref="BounceOptions.TokenSecret"/>,
/// truncated to 80 bits), both in lower-case base32 so that an MTA that lower-cases local parts changes nothing: 42
/// characters, and a local part such as <c>bounces+…</c> of 50. Anyone sees the token; only the secret's holder can make one.
/// </summary>
public sealed class BounceTokens(IOptionsMonitor<BounceOptions> options)
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz234567";
    private const int IdChars = 26;
    private const int MacBytes = 10;
    public const int Length = IdChars + 16;

    /// <summary>Whether a return path is configured (then only a verified token matches a report).</summary>
    public bool ReturnPathConfigured => options.CurrentValue is { Enabled: true, ReturnPath.Length: > 0 };

    /// <summary>The return path for <paramref name="messageId"/>, or null when none is configured.</summary>
    public string? ReturnPathFor(Guid messageId)
    {
        var o = options.CurrentValue;
        if (!ReturnPathConfigured)
        {
            return null;
        }
        var token = Token(messageId, o.TokenSecret!);
        if (o.ReturnPath!.Contains("{token}", StringComparison.Ordinal))
        {
            return o.ReturnPath.Replace("{token}", token, StringComparison.Ordinal);
        }
        var at = o.ReturnPath.LastIndexOf('@');
        return o.ReturnPath[..at] + o.TokenDelimiter + token + o.ReturnPath[at..];
    }

    /// <summary>
    /// The message named by a token found in <paramref name="address"/> (where the report was delivered), or null when the
    /// address holds no token or one whose HMAC does not verify.
    /// </summary>
    public Guid? Verify(string address)
    {
        var o = options.CurrentValue;
        if (!ReturnPathConfigured)
        {
            return null;
        }
        var at = address.LastIndexOf('@');
        var local = (at < 0 ? address : address[..at]).ToLowerInvariant();
        // The token is the last Length characters after the delimiter ({token} ends the local part) or where {token} stands.
        var template = o.ReturnPath!;
        var start = template.IndexOf("{token}", StringComparison.Ordinal);
        var prefix = start < 0 ? template[..template.LastIndexOf('@')] + o.TokenDelimiter : template[..start];
        if (!local.StartsWith(prefix.ToLowerInvariant(), StringComparison.Ordinal) || local.Length < prefix.Length + Length)
        {
            return null;
        }
        var token = local.Substring(prefix.Length, Length);
        if (Decode(token[..IdChars]) is not { Length: 16 } idBytes)
        {
            return null;
        }
        var id = new Guid(idBytes, bigEndian: true);
        var expected = Encoding.ASCII.GetBytes(Token(id, o.TokenSecret!));
        return CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(token)) ? id : null;
    }

    private static string Token(Guid messageId, string secret)
    {
        var id = messageId.ToByteArray(bigEndian: true);
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), id).AsSpan(0, MacBytes);
        return Encode(id) + Encode(mac);
    }

    private static string Encode(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder((bytes.Length * 8 + 4) / 5);
        int buffer = 0, bits = 0;
        foreach (var b in bytes)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                text.Append(Alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }
        if (bits > 0)
        {
            text.Append(Alphabet[(buffer << (5 - bits)) & 31]);
        }
        return text.ToString();
    }

    private static byte[]? Decode(string text)
    {
        var bytes = new List<byte>(text.Length * 5 / 8);
        int buffer = 0, bits = 0;
        foreach (var c in text)
        {
            var value = Alphabet.IndexOf(c);
            if (value < 0)
            {
                return null;
            }
            buffer = (buffer << 5) | value;
            bits += 5;
            if (bits >= 8)
            {
                bytes.Add((byte)(buffer >> (bits - 8)));
                bits -= 8;
            }
        }
        return [.. bytes];
    }
}
