namespace MailApi.Storage;

/// <summary>
/// Message ids are UUIDv7, so their order is their creation order. Compared as PostgreSQL compares uuid values
/// (byte by byte, big-endian), which is how .NET compares a Guid's fields.
/// </summary>
public static class MessageOrder
{
    public static int Compare(Guid a, Guid b) => a.CompareTo(b);

    /// <summary>The retention step: what is left of a message once its content is dropped.</summary>
    public static StoredMessage WithoutContent(StoredMessage message) => message with
    {
        Content = message.Content with { Text = null, Html = null, Headers = new Dictionary<string, string>(), Attachments = [] },
        Attempts = message.Attempts.Select(a => a with { Transcript = [] }).ToList(),
        ContentPurged = true,
    };
}
