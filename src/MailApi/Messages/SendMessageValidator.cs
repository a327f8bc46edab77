using System.Text.RegularExpressions;
using FluentValidation;
using Microsoft.Extensions.Options;
using MimeKit;

namespace MailApi.Messages;

/// <summary>Every rule of the contract for one message; failures are keyed by JSON path (<c>to[1]</c>).</summary>
public sealed partial class SendMessageValidator : AbstractValidator<SendMessageRequest>
{
    /// <summary>Header fields the service writes itself; a caller may not set them.</summary>
    private static readonly string[] OwnedHeaders = ["From", "To", "Cc", "Bcc", "Reply-To", "Subject", "Date", "Message-ID", "MIME-Version"];

    public const int MaxSubjectLength = 998;
    public const int MaxTags = 10;
    public const int MaxMetadataPairs = 20;
    public const int MaxMetadataKeyLength = 128;
    public const int MaxMetadataValueLength = 2048;

    public SendMessageValidator(IOptions<LimitsOptions> limits)
    {
        var maxRecipients = limits.Value.MaxRecipients;
        var maxAttachmentBytes = limits.Value.MaxAttachmentBytes;

        RuleFor(m => m.From).NotEmpty().WithMessage("'from' is required.")
            .Must(BeMailbox).When(m => !string.IsNullOrEmpty(m.From), ApplyConditionTo.CurrentValidator).WithMessage(MailboxMessage);
        RuleForEach(m => m.To).Must(BeMailbox).WithMessage(MailboxMessage);
        RuleForEach(m => m.Cc).Must(BeMailbox).WithMessage(MailboxMessage);
        RuleForEach(m => m.Bcc).Must(BeMailbox).WithMessage(MailboxMessage);
        RuleForEach(m => m.ReplyTo).Must(BeMailbox).WithMessage(MailboxMessage);
        RuleFor(m => m.To)
            .Must((m, _) => RecipientCount(m) > 0).WithMessage("At least one recipient is required in 'to', 'cc' or 'bcc'.")
            .Must((m, _) => RecipientCount(m) <= maxRecipients)
            .WithMessage($"At most {maxRecipients} recipients are allowed in 'to', 'cc' and 'bcc' together.");

        RuleFor(m => m.Subject).NotNull().WithMessage("'subject' is required.")
            .MaximumLength(MaxSubjectLength).WithMessage($"'subject' must be at most {MaxSubjectLength} characters.")
            .Must(NotContainLineBreak).WithMessage("'subject' must not contain CR or LF.");
        RuleFor(m => m.Text)
            .Must((m, _) => m.Text is not null || m.Html is not null).WithMessage("At least one of 'text' and 'html' is required.");

        RuleFor(m => m.Headers).Custom((headers, context) =>
        {
            if (headers is null)
            {
                return;
            }
            foreach (var (name, value) in headers)
            {
                var path = $"headers.{name}";
                if (!IsFieldName(name))
                {
                    context.AddFailure(path, "A header name must be 1-76 printable ASCII characters without ':' or spaces (RFC 5322 field name).");
                }
                else if (IsOwnedHeader(name))
                {
                    context.AddFailure(path, $"The header '{name}' is set by the service; use the matching field instead.");
                }
                if (value is null)
                {
                    context.AddFailure(path, "A header value is required.");
                }
                else if (!NotContainLineBreak(value))
                {
                    context.AddFailure(path, "A header value must not contain CR or LF.");
                }
            }
        });

        RuleForEach(m => m.Attachments).NotNull().WithMessage("An attachment must be an object.")
            .SetValidator(new AttachmentValidator()!);
        RuleFor(m => m.Attachments)
            .Must(a => TotalDecodedBytes(a) <= maxAttachmentBytes)
            .WithMessage($"Attachments may total at most {maxAttachmentBytes} bytes once decoded.");

        RuleFor(m => m.Tags).Must(t => t is null || t.Count <= MaxTags).WithMessage($"At most {MaxTags} tags are allowed.");
        RuleForEach(m => m.Tags).Must(t => t is not null && TagPattern().IsMatch(t))
            .WithMessage("A tag must be 1-64 characters of A-Z, a-z, 0-9, '_' and '-'.");

        RuleFor(m => m.Metadata).Custom((metadata, context) =>
        {
            if (metadata is null)
            {
                return;
            }
            if (metadata.Count > MaxMetadataPairs)
            {
                context.AddFailure("metadata", $"At most {MaxMetadataPairs} metadata pairs are allowed.");
            }
            foreach (var (key, value) in metadata)
            {
                if (key.Length is 0 or > MaxMetadataKeyLength)
                {
                    context.AddFailure($"metadata.{key}", $"A metadata key must be 1-{MaxMetadataKeyLength} characters.");
                }
                if (value is null || value.Length > MaxMetadataValueLength)
                {
                    context.AddFailure($"metadata.{key}", $"A metadata value must be a string of at most {MaxMetadataValueLength} characters.");
                }
            }
        });
    }

    private const string MailboxMessage = "'{PropertyValue}' is not a mailbox: use \"Name <local@domain>\" or \"local@domain\", without CR or LF.";

    private static bool BeMailbox(string? value) => Mailboxes.IsMailbox(value);

    private static int RecipientCount(SendMessageRequest m) => (m.To?.Count ?? 0) + (m.Cc?.Count ?? 0) + (m.Bcc?.Count ?? 0);

    internal static bool NotContainLineBreak(string? value) => value is null || !value.AsSpan().ContainsAny('\r', '\n');

    private static bool IsFieldName(string name) =>
        name.Length is > 0 and <= 76 && name.All(c => c is > ' ' and <= '~' and not ':');

    private static bool IsOwnedHeader(string name) =>
        OwnedHeaders.Contains(name, StringComparer.OrdinalIgnoreCase) || name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase);

    private static long TotalDecodedBytes(List<AttachmentRequest?>? attachments) =>
        attachments?.Sum(a => a?.Content is { } c ? c.Length / 4L * 3 : 0) ?? 0;

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex TagPattern();
}

/// <summary>One attachment: a filename and a content type without line breaks, base64 content.</summary>
public sealed class AttachmentValidator : AbstractValidator<AttachmentRequest>
{
    public AttachmentValidator()
    {
        RuleFor(a => a.Filename).NotEmpty().WithMessage("'filename' is required.")
            .Must(SendMessageValidator.NotContainLineBreak).WithMessage("'filename' must not contain CR or LF.")
            .MaximumLength(255).WithMessage("'filename' must be at most 255 characters.");
        RuleFor(a => a.ContentType)
            .Must(SendMessageValidator.NotContainLineBreak).WithMessage("'contentType' must not contain CR or LF.")
            .Must(t => t is null || ContentType.TryParse(t, out _)).WithMessage("'contentType' is not a MIME type such as 'application/pdf'.");
        RuleFor(a => a.Content).NotNull().WithMessage("'content' is required.")
            .Must(BeBase64).When(a => a.Content is not null, ApplyConditionTo.CurrentValidator).WithMessage("'content' is not valid base64.");
        RuleFor(a => a.ContentId)
            .Must(id => id is null || (id.Length is > 0 and <= 255 && id.All(c => c is > ' ' and <= '~' and not '<' and not '>')))
            .WithMessage("'contentId' must be 1-255 printable ASCII characters without spaces or angle brackets.");
    }

    private static bool BeBase64(string? content) => System.Buffers.Text.Base64.IsValid(content);
}
