namespace MailApi.Suppressions;

/// <summary>An entry of the list as the API shows it (and as <c>suppression.*</c> events carry it).</summary>
public sealed record SuppressionResource(string Address, SuppressionReason Reason, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt,
    SuppressionSourceResource? Source)
{
    public static SuppressionResource Of(StoredSuppression e) => new(e.Address, e.Reason, e.CreatedAt, e.ExpiresAt,
        e.Source is { } s ? new SuppressionSourceResource(s.MessageId, s.Status, s.Diagnostic) : null);
}

/// <summary>The message whose delivery put the address on the list, the enhanced status code and what the relay said.</summary>
public sealed record SuppressionSourceResource(Guid? MessageId, string? Status, string? Diagnostic);

/// <summary>A page of <c>GET /v1/suppressions</c>, newest first; pass <c>nextCursor</c> as <c>cursor</c> for the next.</summary>
public sealed record SuppressionPageResource(IReadOnlyList<SuppressionResource> Items, string? NextCursor);
