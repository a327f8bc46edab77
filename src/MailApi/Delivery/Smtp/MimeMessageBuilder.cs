using MailApi.Storage;
using MimeKit;

namespace MailApi.Delivery.Smtp;

/// <summary>Builds the RFC 5322 message for a stored message. Bcc recipients go in the envelope only, never in a header.</summary>
public static class MimeMessageBuilder
{
    public static MimeMessage Build(StoredMessage message)
    {
        var content = message.Content;
        var mime = new MimeMessage
        {
            Subject = content.Subject,
            Date = message.CreatedAt,
            MessageId = message.MessageId.Trim('<', '>'),
        };
        mime.From.Add(MailboxAddress.Parse(content.From));
        mime.To.AddRange(content.To.Select(MailboxAddress.Parse));
        mime.Cc.AddRange(content.Cc.Select(MailboxAddress.Parse));
        mime.ReplyTo.AddRange(content.ReplyTo.Select(MailboxAddress.Parse));
        foreach (var (name, value) in content.Headers)
        {
            mime.Headers.Add(name, value);
        }

        var body = new BodyBuilder { TextBody = content.Text, HtmlBody = content.Html };
        foreach (var attachment in content.Attachments)
        {
            // Without a content type MimeKit goes by the file name, as AttachmentCollection.Add(name, data) would ("x.eml" is message/rfc822).
            var type = ContentType.Parse(attachment.ContentType ?? MimeTypes.GetMimeType(attachment.Filename));
            // An inline part belongs beside the HTML that refers to it (multipart/related); without HTML it is a plain attachment.
            var collection = attachment.ContentId is not null && content.Html is not null ? body.LinkedResources : body.Attachments;
            // A message/rfc822 part may not be base64 (RFC 2046 §5.2.1) and goes out as MimeKit parsed it: its line ends
            // are made CRLF before the parse, as those of text and html are.
            var bytes = type.IsMimeType("message", "rfc822") ? CrLf(attachment.Content) : attachment.Content;
            var part = collection.Add(attachment.Filename, bytes, type);
            // MimeKit writes ASCII text 7bit and turns its bare LFs into CRLF, but a bare CR would reach the DATA as it is
            // (RFC 5321 §2.3.8 forbids that). Base64 keeps the file the caller sent byte for byte.
            if (part is TextPart { ContentTransferEncoding: not ContentEncoding.Base64 } text && HasBareCr(bytes))
            {
                text.ContentTransferEncoding = ContentEncoding.Base64;
            }
            if (attachment.ContentId is { } id)
            {
                part.ContentId = id;
            }
        }
        mime.Body = body.ToMessageBody();
        return mime;
    }

    private static bool HasBareCr(ReadOnlySpan<byte> bytes)
    {
        while (bytes.IndexOf((byte)'\r') is var cr and >= 0)
        {
            if (cr + 1 == bytes.Length || bytes[cr + 1] != (byte)'\n')
            {
                return true;
            }
            bytes = bytes[(cr + 2)..];
        }
        return false;
    }

    /// <summary><paramref name="bytes"/> with every CR, LF and CRLF made CRLF.</summary>
    private static byte[] CrLf(ReadOnlySpan<byte> bytes)
    {
        using var output = new MemoryStream(bytes.Length + 64);
        while (bytes.IndexOfAny((byte)'\r', (byte)'\n') is var end and >= 0)
        {
            output.Write(bytes[..end]);
            output.Write("\r\n"u8);
            var crLf = bytes[end] == (byte)'\r' && end + 1 < bytes.Length && bytes[end + 1] == (byte)'\n';
            bytes = bytes[(end + (crLf ? 2 : 1))..];
        }
        output.Write(bytes);
        return output.ToArray();
    }

    /// <summary>The envelope sender: the bare address of <c>from</c>.</summary>
    public static MailboxAddress Sender(StoredMessage message) => new("", MailboxAddress.Parse(message.Content.From).Address);
}
