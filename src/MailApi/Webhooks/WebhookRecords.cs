namespace MailApi.Webhooks;

/// <summary>
/// A webhook endpoint as the store keeps it (a jsonb document in PostgreSQL): renaming a property breaks stored rows.
/// The HTTP answer is <see cref="WebhookResource"/>, which never shows the secrets after creation and rotation.
/// </summary>
public sealed record StoredEndpoint
{
    public required Guid Id { get; init; }

    /// <summary>The API key that created it; only that key can see it, and only that key's messages are sent to it.</summary>
    public required string Owner { get; init; }

    public required string Url { get; init; }

    /// <summary>The event types it is sent.</summary>
    public required IReadOnlyList<string> Events { get; init; }

    public string? Description { get; init; }
    public bool Enabled { get; init; } = true;

    /// <summary>Why the service disabled it (a 410 from the receiver), or null.</summary>
    public string? DisabledReason { get; init; }

    /// <summary><c>whsec_</c> + base64 of 32 random bytes.</summary>
    public required string Secret { get; init; }

    /// <summary>The secret before the last rotation, still signing until <see cref="PreviousSecretExpiresAt"/>.</summary>
    public string? PreviousSecret { get; init; }

    public DateTimeOffset? PreviousSecretExpiresAt { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>Bumped by the store on every update; the compare-and-set token.</summary>
    public long Version { get; init; }
}

/// <summary>Where a delivery stands. Serialised in lower case.</summary>
public enum WebhookDeliveryStatus
{
    /// <summary>Not yet answered with a 2xx; a try is due at <c>nextAttemptAt</c>.</summary>
    Pending,
    /// <summary>The receiver answered 2xx.</summary>
    Delivered,
    /// <summary>Retries used up, a 410, or the endpoint was disabled.</summary>
    Failed,
}

/// <summary>One event for one endpoint: its id is the <c>webhook-id</c> of every try, and its body is fixed when created.</summary>
public sealed record StoredDelivery
{
    public required Guid Id { get; init; }
    public required Guid EndpointId { get; init; }
    public required string Owner { get; init; }
    public required Guid EventId { get; init; }
    public Guid? MessageId { get; init; }
    public required string Type { get; init; }

    /// <summary>The JSON body, the same on every try (the signature covers it).</summary>
    public required string Body { get; init; }

    public required WebhookDeliveryStatus Status { get; init; }
    public IReadOnlyList<WebhookAttempt> Attempts { get; init; } = [];
    public DateTimeOffset? NextAttemptAt { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>Tries counted against <c>Webhooks:RetryDelays</c>; a manual retry starts the count again.</summary>
    public int Tries { get; init; }

    public long Version { get; init; }
}

/// <summary>One try: when, what the receiver answered (or why there was no answer), how long, the first KB of the answer.</summary>
public sealed record WebhookAttempt(DateTimeOffset At, int? StatusCode, long DurationMs, string? Error, string? ResponseBody);
