namespace MailApi.Storage;

/// <summary>Where messages and jobs live (section <c>Storage</c>).</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    public StorageProvider Provider { get; set; } = StorageProvider.InMemory;
    public string? ConnectionString { get; set; }
}

public enum StorageProvider
{
    InMemory,
    PostgreSql,
}
