using MailKit;

namespace MailApi.Delivery.Smtp;

/// <summary>
/// Leaves the SASL secrets out of a client line before anything of it is kept. MailKit's <c>SmtpClient</c> switches its
/// detector on around AUTH only, and it then reports the initial response after <c>AUTH &lt;MECH&gt; </c> and every
/// answer line as secrets (an empty answer has none); the rest of the time it reports nothing.
/// </summary>
internal static class SecretCut
{
    /// <summary>
    /// The bytes of one client line, <paramref name="count"/> bytes at <paramref name="offset"/> and ending at its LF if
    /// it has one, without the ranges <paramref name="detector"/> reports. Call it once per line and in order, as
    /// MailKit's own <c>ProtocolLogger</c> does: the detector keeps state from call to call and reports at most one
    /// secret per call.
    /// </summary>
    public static ReadOnlySpan<byte> Without(IAuthenticationSecretDetector? detector, byte[] buffer, int offset, int count)
    {
        var secrets = detector?.DetectSecrets(buffer, offset, count);
        if (secrets is null || secrets.Count == 0)
        {
            return buffer.AsSpan(offset, count);
        }

        var end = offset + count;
        // MailKit's ranges stop before the CR LF; keeping the line end whatever a detector says keeps an answer from
        // running into the next command.
        var limit = end;
        if (limit > offset && buffer[limit - 1] == (byte)'\n')
        {
            limit--;
        }
        if (limit > offset && buffer[limit - 1] == (byte)'\r')
        {
            limit--;
        }

        var kept = new byte[count];
        var length = 0;
        var from = offset;
        foreach (var secret in secrets)
        {
            // StartIndex counts from the start of the buffer, not from offset.
            var start = Math.Clamp(secret.StartIndex, from, limit);
            buffer.AsSpan(from, start - from).CopyTo(kept.AsSpan(length));
            length += start - from;
            from = Math.Clamp(secret.StartIndex + secret.Length, start, limit);
        }
        buffer.AsSpan(from, end - from).CopyTo(kept.AsSpan(length));
        return kept.AsSpan(0, length + end - from);
    }
}
