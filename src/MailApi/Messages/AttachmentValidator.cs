using System.Text.RegularExpressions;
using FluentValidation;
using MimeKit;

namespace MailApi.Messages;

/// <summary>
/// One attachment: a filename and a content type without line breaks, base64 content, and nothing the delivery's
/// MIME builder would fail on. What cannot be built is a 400 now, never a message retried for hours.
/// </summary>
public sealed partial class AttachmentValidator : AbstractValidator<AttachmentRequest>
{
    public AttachmentValidator()
    {
        RuleFor(a => a.Filename).NotEmpty().WithMessage("'filename' is required.")
            .Must(SendMessageValidator.NotContainLineBreak).WithMessage("'filename' must not contain CR or LF.")
            .MaximumLength(255).WithMessage("'filename' must be at most 255 characters.");
        RuleFor(a => a.ContentType)
            .Must(SendMessageValidator.NotContainLineBreak).WithMessage("'contentType' must not contain CR or LF.")
            .Must(t => t is null || ParseType(t) is not null).WithMessage("'contentType' is not a MIME type such as 'application/pdf'.")
            .Must(t => ParseType(t)?.IsMimeType("multipart", "*") != true)
            .WithMessage("'contentType' may not be multipart/*: the service builds the multipart structure; send each part as its own attachment.");
        RuleFor(a => a.Content).NotNull().WithMessage("'content' is required.")
            .Must(BeBase64).When(a => a.Content is not null, ApplyConditionTo.CurrentValidator).WithMessage("'content' is not valid base64.")
            .Must(BeMessage).When(a => IsRfc822(EffectiveType(a)) && BeBase64(a.Content), ApplyConditionTo.CurrentValidator)
            .WithMessage("'content' is not an RFC 5322 message, as the type message/rfc822 (given, or guessed from the filename) says it is "
                + "(headers, a blank line, a body).");
        RuleFor(a => a.ContentId)
            .Must(id => id is null || (id.Length <= 255 && ContentIdPattern().IsMatch(id)))
            .WithMessage("'contentId' must be an RFC 2392 id such as 'logo@domain.local': letters, digits and !#$%&'*+-/=?^_`{|}~ "
                + "in dot-separated parts, one '@', at most 255 characters, without angle brackets.");
    }

    private static bool BeBase64(string? content) => System.Buffers.Text.Base64.IsValid(content);

    /// <summary>
    /// The type as the MIME builder parses it, or null. <see cref="ContentType.TryParse(string, out ContentType)"/> accepts
    /// some types (an unterminated quoted parameter) that <see cref="ContentType.Parse(string)"/>, which the builder calls, throws on.
    /// </summary>
    private static ContentType? ParseType(string? type)
    {
        if (type is null)
        {
            return null;
        }
        try
        {
            return ContentType.Parse(type);
        }
        catch (ParseException)
        {
            return null;
        }
    }

    /// <summary>The type the MIME builder will use: the one given, else MimeKit's guess from the filename (<c>.eml</c> is message/rfc822).</summary>
    private static string? EffectiveType(AttachmentRequest a) => a.ContentType ?? (a.Filename is { Length: > 0 } name ? MimeTypes.GetMimeType(name) : null);

    private static bool IsRfc822(string? type) => ParseType(type)?.IsMimeType("message", "rfc822") == true;

    /// <summary>MimeKit parses a message/rfc822 attachment into a message when the MIME is built; a FormatException there is fatal.</summary>
    private static bool BeMessage(string? content)
    {
        try
        {
            using var stream = new MemoryStream(Convert.FromBase64String(content!), writable: false);
            MimeMessage.Load(stream);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>RFC 2392's content-id is an addr-spec; dot-atoms on both sides are what MimeKit writes back unchanged.</summary>
    [GeneratedRegex(@"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")]
    private static partial Regex ContentIdPattern();
}
