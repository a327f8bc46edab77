using FluentValidation;
using MailApi.Http;

namespace MailApi.Suppressions;

/// <summary>
/// <c>PUT /v1/suppressions/{address}</c>: why (<c>manual</c> when absent; the other reasons let a list be imported) and
/// until when (never when absent).
/// </summary>
public sealed record PutSuppressionRequest(string? Reason, DateTimeOffset? ExpiresAt);

/// <summary>The query string of <c>GET /v1/suppressions</c>.</summary>
public sealed record SuppressionsQuery(string? Reason, string? Address, int? Limit, string? Cursor) : IPageQuery
{
    /// <summary>The store's query; validated (<see cref="SuppressionsQueryValidator"/>) before the handler ran.</summary>
    public SuppressionQuery ToStoreQuery(string owner) => new()
    {
        Owner = owner,
        Reason = SuppressionReasons.Parse(Reason),
        Address = Address is null ? null : NormalizeFilter(Address),
        Before = this.Before(),
        Limit = this.PageSize(),
    };

    /// <summary>An address in normal form, or <c>@domain</c> with the domain as its lower-case A-label; null when neither.</summary>
    public static string? NormalizeFilter(string value) =>
        value.StartsWith('@') ? SuppressionAddress.Normalize("x" + value) is { } address ? address[1..] : null : SuppressionAddress.Normalize(value);
}

public sealed class PutSuppressionValidator : AbstractValidator<PutSuppressionRequest>
{
    public PutSuppressionValidator(TimeProvider clock)
    {
        RuleFor(r => r.Reason).Must(r => r is null || SuppressionReasons.Parse(r) is not null)
            .WithMessage($"'reason' must be one of {string.Join(", ", SuppressionReasons.All)}.");
        RuleFor(r => r.ExpiresAt).Must(e => e is null || e > clock.GetUtcNow())
            .WithMessage("'expiresAt' must be in the future; leave it out for an entry that never expires.");
    }
}

public sealed class SuppressionsQueryValidator : AbstractValidator<SuppressionsQuery>
{
    public SuppressionsQueryValidator()
    {
        RuleFor(q => q.Reason).Must(r => r is null || SuppressionReasons.Parse(r) is not null)
            .WithMessage($"'reason' must be one of {string.Join(", ", SuppressionReasons.All)}.");
        RuleFor(q => q.Address).Must(a => a is null || SuppressionsQuery.NormalizeFilter(a) is not null)
            .WithMessage("'address' must be an address (bob@example.com) or a domain (@example.com).");
        Include(new PageQueryValidator());
    }
}
