namespace MailApi.Suppressions;

/// <summary>
/// The suppression lists of every key: a PostgreSQL table in durable mode (its primary key is key + address), a dictionary
/// in memory. Addresses are in <see cref="SuppressionAddress"/>'s normal form. An entry past its <c>ExpiresAt</c> is as
/// good as absent: it is never returned, and a new entry for its address counts as new.
/// </summary>
public interface ISuppressionStore
{
    /// <summary>The live entries of <paramref name="owner"/> among <paramref name="addresses"/>, by address: one lookup for them all.</summary>
    Task<IReadOnlyDictionary<string, StoredSuppression>> FindAsync(string owner, IReadOnlyCollection<string> addresses, DateTimeOffset now,
        CancellationToken cancellationToken);

    /// <summary>Stores <paramref name="entry"/>, replacing any entry for its address; true when there was no live one.</summary>
    Task<bool> PutAsync(StoredSuppression entry, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Stores <paramref name="entry"/> unless a live entry for its address exists (which is kept); true when stored.</summary>
    Task<bool> AddIfAbsentAsync(StoredSuppression entry, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Removes the entry; returns it when it was live, null when there was none (or only an expired one).</summary>
    Task<StoredSuppression?> DeleteAsync(string owner, string address, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>One page of one key's live entries, newest first.</summary>
    Task<SuppressionPage> ListAsync(SuppressionQuery query, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>How many live entries there are, by reason, over every key (the <c>mailapi_suppressions</c> gauge).</summary>
    Task<IReadOnlyDictionary<SuppressionReason, long>> CountAsync(DateTimeOffset now, CancellationToken cancellationToken);
}

/// <summary>Filters of <c>GET /v1/suppressions</c>: a reason, an address (normal form) or a whole domain (<c>@example.com</c>).</summary>
public sealed record SuppressionQuery
{
    public required string Owner { get; init; }
    public SuppressionReason? Reason { get; init; }

    /// <summary>One address in normal form, or <c>@domain</c> (an A-label, lower case) for every address of a domain.</summary>
    public string? Address { get; init; }

    /// <summary>Only entries older than this id.</summary>
    public Guid? Before { get; init; }

    public int Limit { get; init; } = 50;
}

/// <summary>A page of entries and whether more follow.</summary>
public sealed record SuppressionPage(IReadOnlyList<StoredSuppression> Items, bool HasMore);
