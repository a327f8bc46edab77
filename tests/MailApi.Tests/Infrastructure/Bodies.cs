using System.Text.Json.Nodes;

namespace MailApi.Tests.Infrastructure;

/// <summary>Request bodies for tests: a valid message, changed per test.</summary>
public static class Bodies
{
    public static JsonObject Valid(params string[] to)
    {
        var recipients = new JsonArray();
        foreach (var address in to.Length == 0 ? ["student@domain.local"] : to)
        {
            recipients.Add(address);
        }
        return new JsonObject
        {
            ["from"] = "Zotrim <zotrim@domain.local>",
            ["to"] = recipients,
            ["subject"] = "Test message",
            ["text"] = "Hello,\nIt's a simple message.\n\nZotrim Uka",
        };
    }
}
