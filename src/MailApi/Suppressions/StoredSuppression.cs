namespace MailApi.Suppressions;

/// <summary>
/// One entry of a key's suppression list as the store keeps it. <see cref="Address"/> is in the list's normal form
/// (<see cref="SuppressionAddress.Normalize"/>), so one address has one entry however it is spelled.
/// </summary>
public sealed record StoredSuppression
{
    /// <summary>The API key whose list it is on; no other key sees or obeys it.</summary>
    public required string Owner { get; init; }

    public required string Address { get; init; }

    /// <summary>UUIDv7 of when it was created (again, when replaced): the list's order and cursor.</summary>
    public required Guid Id { get; init; }

    public required SuppressionReason Reason { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it stops suppressing (and is no longer listed); null for never.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>What put it there, when a message did: that message, the status code and the relay's words.</summary>
    public SuppressionSource? Source { get; init; }

    /// <summary>Whether it still suppresses at <paramref name="now"/>.</summary>
    public bool IsLive(DateTimeOffset now) => ExpiresAt is not { } expires || expires > now;
}

/// <summary>The message whose delivery put an address on the list, with the enhanced status code and the diagnostic.</summary>
public sealed record SuppressionSource(Guid? MessageId, string? Status, string? Diagnostic);
