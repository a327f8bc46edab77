using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using MimeKit;
using MimeKit.Cryptography;

namespace MailApi.Delivery.Dkim;

/// <summary>
/// Signs a message with the DKIM key of its <c>From</c> domain (RFC 6376: RSA-SHA256, relaxed/relaxed), or leaves it
/// unsigned when that domain has no key. Called by the SMTP client once the message is final for that relay (its
/// transfer encodings chosen for the relay's 8BITMIME) with the very format it is written in, so the copy the relay
/// receives is the copy that was signed.
/// </summary>
public sealed class DkimSigning
{
    /// <summary>The headers signed, when present (RFC 6376 §5.4.1 recommends these).</summary>
    private static readonly HeaderId[] Signed =
    [
        HeaderId.From, HeaderId.To, HeaderId.Cc, HeaderId.Subject, HeaderId.Date, HeaderId.MessageId, HeaderId.ReplyTo,
        HeaderId.MimeVersion, HeaderId.ContentType,
    ];

    private readonly Dictionary<string, (DkimSigner Signer, Lock Gate)> _byDomain = new(StringComparer.OrdinalIgnoreCase);

    public DkimSigning(IOptions<DkimOptions> options)
    {
        foreach (var key in options.Value.Keys)
        {
            var entry = (SignerFor(key), new Lock());
            _byDomain[key.Domain] = entry;
            _byDomain[Ascii(key.Domain)] = entry;
        }
    }

    /// <summary>Whether any key is configured.</summary>
    public bool Enabled => _byDomain.Count > 0;

    /// <summary>Adds a DKIM-Signature to <paramref name="message"/> as written with <paramref name="format"/>, if its From domain has a key.</summary>
    public void Sign(FormatOptions format, MimeMessage message)
    {
        if (message.From.Mailboxes.FirstOrDefault()?.Domain is not { } domain
            || !(_byDomain.TryGetValue(domain, out var entry) || _byDomain.TryGetValue(Ascii(domain), out entry)))
        {
            return;
        }
        // Content-Type is a header of the body entity in MimeKit, though it is written with the message's own.
        var headers = Signed.Where(h => message.Headers.Contains(h) || message.Body?.Headers.Contains(h) == true).ToArray();
        lock (entry.Gate)
        {
            entry.Signer.Sign(format, message, headers);
        }
    }

    /// <summary>The signer of <paramref name="key"/>; throws when its private key cannot be read.</summary>
    internal static DkimSigner SignerFor(DkimKey key)
    {
        using var pem = key.PrivateKeyPath is { Length: > 0 } path
            ? File.OpenRead(path)
            : (Stream)new MemoryStream(Encoding.ASCII.GetBytes(key.PrivateKey ?? ""));
        return new DkimSigner(pem, key.Domain, key.Selector, DkimSignatureAlgorithm.RsaSha256)
        {
            HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
            BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
        };
    }

    private static string Ascii(string domain)
    {
        try
        {
            return new IdnMapping().GetAscii(domain);
        }
        catch (ArgumentException)
        {
            return domain;
        }
    }
}
