using FluentValidation.Results;

namespace MailApi.Http;

/// <summary>
/// Validation failures keyed by JSON path (<c>to[1]</c>, <c>attachments[0].contentId</c>, <c>messages[3].subject</c>),
/// never by C# names. Done here, once, rather than with FluentValidation's global name resolver (process-wide state).
/// </summary>
public static class ValidationErrors
{
    /// <summary>The failures of <paramref name="result"/> by JSON path, each path's messages in order.</summary>
    public static Dictionary<string, string[]> ByJsonPath(this ValidationResult result)
    {
        var errors = new Dictionary<string, string[]>();
        foreach (var group in result.Errors.GroupBy(e => JsonPath(e.PropertyName)))
        {
            errors[group.Key] = [.. group.Select(e => e.ErrorMessage).Distinct()];
        }
        return errors;
    }

    /// <summary>
    /// FluentValidation names a failure by the C# members it went through (<c>Messages[3].Attachments[0].ContentId</c>).
    /// Member names stand first and right after an index; a segment after a plain one is a key that rules wrote out
    /// themselves (<c>headers.X-Campaign</c>, <c>metadata.orderId</c>) and keeps its spelling.
    /// </summary>
    internal static string JsonPath(string propertyName)
    {
        var segments = propertyName.Split('.');
        for (var i = 0; i < segments.Length; i++)
        {
            if ((i == 0 || segments[i - 1].EndsWith(']')) && segments[i] is [var first, ..] && char.IsUpper(first))
            {
                segments[i] = char.ToLowerInvariant(first) + segments[i][1..];
            }
        }
        return string.Join('.', segments);
    }
}
