using System.Text.RegularExpressions;
using FluentValidation;
using Microsoft.Extensions.Options;

namespace MailApi.Messages;

/// <summary>
/// Every rule for one message (docs/API.md, "POST /v1/messages: send one message"); failures are keyed by JSON path
/// (<c>to[1]</c>).
/// </summary>
public sealed partial class SendMessageValidator : AbstractValidator<SendMessageRequest>
{
    public const int MaxSubjectLength = 998;
    public const int MaxTags = 10;
    public const int MaxMetadataPairs = 20;
    public const int MaxMetadataKeyLength = 128;
    public const int MaxMetadataValueLength = 2048;
    public const int MaxReplyTo = 10;
    public const int MaxAttachments = 100;

    public SendMessageValidator(IOptions<LimitsOptions> limits, TimeProvider clock)
    {
        var maxRecipients = limits.Value.MaxRecipients;
        var maxAttachmentBytes = limits.Value.MaxAttachmentBytes;
        var maxScheduleAhead = limits.Value.MaxScheduleAhead;

        RuleFor(m => m.From).NotEmpty().WithMessage("'from' is required.")
            .Must(BeMailbox).When(m => !string.IsNullOrEmpty(m.From), ApplyConditionTo.CurrentValidator).WithMessage(MailboxMessage);
        RuleForEach(m => m.To).Must(BeMailbox).WithMessage(MailboxMessage);
        RuleForEach(m => m.Cc).Must(BeMailbox).WithMessage(MailboxMessage);
        RuleForEach(m => m.Bcc).Must(BeMailbox).WithMessage(MailboxMessage);
        // Past a count limit, the items are not checked one by one: 20,000 bad items would make a 20,000-line answer.
        RuleFor(m => m.ReplyTo).Must(r => r is null || r.Count <= MaxReplyTo).WithMessage($"At most {MaxReplyTo} addresses are allowed in 'replyTo'.");
        RuleForEach(m => m.ReplyTo).Must(BeMailbox).When(m => (m.ReplyTo?.Count ?? 0) <= MaxReplyTo).WithMessage(MailboxMessage);
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
            if (headers.Count > CustomHeaders.MaxCount)
            {
                context.AddFailure("headers", $"At most {CustomHeaders.MaxCount} custom headers are allowed.");
                return;
            }
            // Header names ignore case (RFC 5322 §1.2.2): "X-A" and "x-a" would be one field given twice.
            var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var (name, value) in headers)
            {
                var path = $"headers.{name}";
                if (CustomHeaders.RefusalFor(name) is { } refusal)
                {
                    context.AddFailure(path, refusal);
                }
                else if (!seen.TryAdd(name, name))
                {
                    context.AddFailure(path, $"The header '{name}' is given twice: '{seen[name]}' is the same name (header names ignore case).");
                }
                if (value is null)
                {
                    context.AddFailure(path, "A header value is required.");
                }
                else if (!NotContainLineBreak(value))
                {
                    context.AddFailure(path, "A header value must not contain CR or LF.");
                }
                else if (value.Length > CustomHeaders.MaxValueLength)
                {
                    context.AddFailure(path, $"A header value must be at most {CustomHeaders.MaxValueLength} characters.");
                }
            }
        });

        RuleFor(m => m.Attachments).Must(a => a is null || a.Count <= MaxAttachments).WithMessage($"At most {MaxAttachments} attachments are allowed.");
        RuleForEach(m => m.Attachments).NotNull().WithMessage("An attachment must be an object.")
            .SetValidator(new AttachmentValidator()!).When(m => (m.Attachments?.Count ?? 0) <= MaxAttachments);
        RuleFor(m => m.Attachments)
            .Must(a => TotalDecodedBytes(a) <= maxAttachmentBytes)
            .WithMessage($"Attachments may total at most {maxAttachmentBytes} bytes once decoded.");

        RuleFor(m => m.SendAt).Must(s => s is null || s <= clock.GetUtcNow() + maxScheduleAhead)
            .WithMessage($"'sendAt' may be at most {Describe(maxScheduleAhead)} ahead (Limits:MaxScheduleAhead).");

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

    private static string Describe(TimeSpan span) => span.Ticks % TimeSpan.TicksPerDay == 0 ? $"{span.Days} days" : span.ToString("c");

    private static long TotalDecodedBytes(List<AttachmentRequest?>? attachments) =>
        attachments?.Sum(a => a?.Content is { } c ? c.Length / 4L * 3 : 0) ?? 0;

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex TagPattern();
}
