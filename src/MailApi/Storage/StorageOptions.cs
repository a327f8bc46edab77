namespace MailApi.Storage;

/// <summary>Where messages and jobs live (section <c>Storage</c>).</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    public StorageProvider Provider { get; set; } = StorageProvider.InMemory;
    public string? ConnectionString { get; set; }

    /// <summary>
    /// The most PostgreSQL connections one instance opens: half for the message store's pool, half for Hangfire's. Every
    /// instance on a database counts against the server's <c>max_connections</c> (100 by default), so the default leaves
    /// room for three instances and a console. A <c>Maximum Pool Size</c> in the connection string is replaced by this.
    /// </summary>
    public int MaxConnections { get; set; } = 30;

    /// <summary>The message store's share of <see cref="MaxConnections"/>; Hangfire has the rest.</summary>
    public int StoreConnections => MaxConnections / 2;

    public int HangfireConnections => MaxConnections - StoreConnections;

    /// <summary>The in-memory store's own settings (<c>Storage:InMemory</c>).</summary>
    public InMemoryStoreOptions InMemory { get; set; } = new();
}

/// <summary>The <c>Storage:InMemory</c> section.</summary>
public sealed class InMemoryStoreOptions
{
    public const int DefaultMaxMessages = 100_000;

    /// <summary>
    /// The most messages the in-memory store keeps: past it, adding drops the messages that became final longest ago,
    /// never one that is not final. Messages that are not final are kept however many there are (Limits:MaxPendingMessages
    /// bounds those). A final message is held compressed (<see cref="HeldMessage"/>), so the default keeps a long-running
    /// dev service to a few hundred MB.
    /// </summary>
    public int MaxMessages { get; set; } = DefaultMaxMessages;
}

public enum StorageProvider
{
    InMemory,
    PostgreSql,
}
