using MailApi.Storage;
using MimeKit;

namespace MailApi.Delivery;

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
            var type = attachment.ContentType is { } t ? ContentType.Parse(t) : null;
            // An inline part belongs beside the HTML that refers to it (multipart/related); without HTML it is a plain attachment.
            var collection = attachment.ContentId is not null && content.Html is not null ? body.LinkedResources : body.Attachments;
            var part = type is null
                ? collection.Add(attachment.Filename, attachment.Content)
                : collection.Add(attachment.Filename, attachment.Content, type);
            if (attachment.ContentId is { } id)
            {
                part.ContentId = id;
            }
        }
        mime.Body = body.ToMessageBody();
        return mime;
    }

    /// <summary>The envelope sender: the bare address of <c>from</c>.</summary>
    public static MailboxAddress Sender(StoredMessage message) => new("", MailboxAddress.Parse(message.Content.From).Address);
}
