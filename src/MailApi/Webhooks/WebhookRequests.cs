using FluentValidation;
using MailApi.Http;
using MailApi.Webhooks.Events;
using Microsoft.Extensions.Options;

namespace MailApi.Webhooks;

/// <summary>What create and update both carry.</summary>
public interface IWebhookFields
{
    string? Url { get; }
    List<string?>? Events { get; }
    string? Description { get; }
}

/// <summary><c>POST /v1/webhooks</c>: where to send, which events (all when absent), a note, and whether it is on.</summary>
public sealed record CreateWebhookRequest(string? Url, List<string?>? Events, string? Description, bool? Enabled) : IWebhookFields;

/// <summary><c>PATCH /v1/webhooks/{id}</c>: what is given changes, what is absent stays.</summary>
public sealed record UpdateWebhookRequest(string? Url, List<string?>? Events, string? Description, bool? Enabled) : IWebhookFields;

/// <summary>The query string of <c>GET /v1/webhooks/{id}/deliveries</c>.</summary>
public sealed record DeliveriesQuery(string? Status, int? Limit, string? Cursor) : IPageQuery
{
    public static WebhookDeliveryStatus? ParseStatus(string? status) =>
        Enum.GetValues<WebhookDeliveryStatus>().Cast<WebhookDeliveryStatus?>().FirstOrDefault(s => s.ToString()!.ToLowerInvariant() == status);
}

/// <summary>The rules create and update share: the url (<see cref="TargetPolicy"/>), known event types, a short description.</summary>
public abstract class WebhookFieldsValidator<T> : AbstractValidator<T> where T : IWebhookFields
{
    public const int MaxDescription = 500;

    protected WebhookFieldsValidator(IOptionsMonitor<WebhookOptions> options)
    {
        RuleFor(r => r.Url).CustomAsync(async (value, context, cancellationToken) =>
        {
            if (value is not null && await TargetPolicy.CheckAsync(value, options.CurrentValue, cancellationToken) is { } refusal)
            {
                context.AddFailure("Url", refusal);
            }
        });
        RuleFor(r => r.Events).Must(e => e is null || e.Count > 0).WithMessage("'events' must list at least one event type, or be left out for all.");
        RuleForEach(r => r.Events).Must(e => e is not null && MessageEvents.All.Contains(e))
            .WithMessage($"Each of 'events' must be one of {string.Join(", ", MessageEvents.All)}.");
        RuleFor(r => r.Description).MaximumLength(MaxDescription).WithMessage($"'description' must be at most {MaxDescription} characters.");
    }
}

public sealed class CreateWebhookValidator : WebhookFieldsValidator<CreateWebhookRequest>
{
    public CreateWebhookValidator(IOptionsMonitor<WebhookOptions> options) : base(options)
    {
        RuleFor(r => r.Url).NotEmpty().WithMessage("'url' is required.");
    }
}

public sealed class UpdateWebhookValidator : WebhookFieldsValidator<UpdateWebhookRequest>
{
    public UpdateWebhookValidator(IOptionsMonitor<WebhookOptions> options) : base(options)
    {
        RuleFor(r => r.Url).NotEmpty().When(r => r.Url is not null).WithMessage("'url' must not be empty.");
    }
}

public sealed class DeliveriesQueryValidator : AbstractValidator<DeliveriesQuery>
{
    public DeliveriesQueryValidator()
    {
        RuleFor(q => q.Status).Must(s => s is null || DeliveriesQuery.ParseStatus(s) is not null)
            .WithMessage("'status' must be one of pending, delivered, failed.");
        Include(new PageQueryValidator());
    }
}
