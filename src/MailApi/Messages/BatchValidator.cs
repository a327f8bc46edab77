using FluentValidation;

namespace MailApi.Messages;

/// <summary>All-or-nothing: every message is validated; failures are keyed <c>messages[i].field</c>.</summary>
public sealed class BatchValidator : AbstractValidator<BatchRequest>
{
    public const int MaxMessages = 100;

    public BatchValidator(IValidator<SendMessageRequest> message)
    {
        RuleFor(b => b.Messages).NotEmpty().WithMessage("'messages' must hold 1 to 100 messages.")
            .Must(m => m is null || m.Count <= MaxMessages).WithMessage($"'messages' must hold at most {MaxMessages} messages.");
        RuleForEach(b => b.Messages).NotNull().WithMessage("A message must be an object.").SetValidator(message!);
    }
}
