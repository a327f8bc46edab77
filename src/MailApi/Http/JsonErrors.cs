using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace MailApi.Http;

/// <summary>
/// Turns a body System.Text.Json could not read into validation errors keyed like the validator's
/// (<c>subject</c>, <c>to[1]</c>, <c>messages[3].subject</c>, <c>metadata.userId</c>; the body itself is <c>""</c>),
/// with messages in the API's words rather than C# type names. The serialiser stops at the first error, but every
/// failing field is named (docs/API.md, "Reading the body"), so a body that is valid JSON is walked again
/// (<see cref="JsonShape"/>).
/// </summary>
public static class JsonErrors
{
    /// <summary>
    /// Every property of <paramref name="json"/> of the wrong type or shape, unknown or given twice, by JSON path;
    /// broken JSON gives the one place where reading stopped. <paramref name="e"/> is what the serialiser threw for it.
    /// </summary>
    public static Dictionary<string, string[]> For(JsonException e, ReadOnlyMemory<byte> json, Type root, JsonSerializerOptions options)
    {
        var first = For(e, root, options);
        if (e.InnerException is JsonException)
        {
            return first; // not JSON: there is no tree to walk
        }
        var errors = JsonShape.Errors(json, root, options) ?? [];
        // The serialiser's own error is always listed, should the walk judge a value otherwise.
        foreach (var (key, messages) in first)
        {
            errors.TryAdd(key, messages);
        }
        return errors;
    }

    /// <summary>The one error <paramref name="e"/> stands for.</summary>
    private static Dictionary<string, string[]> For(JsonException e, Type root, JsonSerializerOptions options)
    {
        var segments = Segments(e.Path);
        var key = Key(segments);
        string message;
        if (e.InnerException is JsonException syntax)
        {
            // The reader's own message (broken JSON, invalid UTF-8); its position is 0-based.
            var text = syntax.Message;
            var cut = text.IndexOf(" LineNumber:", StringComparison.Ordinal);
            message = $"The body is not valid JSON: {(cut < 0 ? text : text[..cut])} (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}).";
        }
        else if (e.InnerException is InvalidOperationException { InnerException: DecoderFallbackException })
        {
            // A string the reader passed but that is not UTF-8; saying "must be a string" would send the caller astray.
            message = NotUtf8(key);
        }
        else if (e.Message.StartsWith("Duplicate propert", StringComparison.Ordinal))
        {
            // System.Text.Json marks a duplicate key (AllowDuplicateProperties = false) by nothing but its message.
            message = Duplicate(key);
        }
        else if (e.Message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal))
        {
            // ApiJson disallows properties a body does not have: a typo fails loudly instead of being dropped.
            message = Unknown(key);
        }
        else
        {
            message = $"{Field(key)} must be {Expected(root, segments, options) ?? "of another JSON type"}.";
        }
        return new Dictionary<string, string[]> { [key] = [message] };
    }

    internal static string Duplicate(string key) => $"{Field(key)} appears more than once; a key may appear only once in an object.";

    internal static string Unknown(string key) => $"{Field(key)} is not a property of this body; check its spelling (names are camelCase).";

    internal static string NotUtf8(string key) => $"{Field(key)} is not valid UTF-8.";

    internal static string NotUtf8Name(string key) => $"{Field(key)} has a property name that is not valid UTF-8.";

    internal static string WrongType(string key, Type type, JsonSerializerOptions options) => $"{Field(key)} must be {Describe(type, options)}.";

    private static string Field(string key) => key.Length == 0 ? "The body" : $"'{key}'";

    /// <summary>
    /// The steps of a path such as <c>$.messages[3].subject</c> or <c>$.metadata['a b']</c>: property names as strings,
    /// array indexes as ints. A bracketed name ends at the <c>']</c> that the end, a dot or a bracket follows
    /// (System.Text.Json does not escape quotes inside it).
    /// </summary>
    private static List<object> Segments(string? path)
    {
        var segments = new List<object>();
        var i = 1; // after "$"
        while (path is not null && i < path.Length)
        {
            if (path[i] == '.')
            {
                var end = path.IndexOfAny(['.', '['], i + 1);
                end = end < 0 ? path.Length : end;
                segments.Add(path[(i + 1)..end]);
                i = end;
            }
            else if (path.AsSpan(i).StartsWith("['"))
            {
                var end = path.IndexOf("']", i + 2, StringComparison.Ordinal);
                while (end >= 0 && end + 2 < path.Length && path[end + 2] is not ('.' or '['))
                {
                    end = path.IndexOf("']", end + 1, StringComparison.Ordinal);
                }
                end = end < 0 ? path.Length : end;
                segments.Add(path[(i + 2)..end]);
                i = end + 2;
            }
            else
            {
                var end = path.IndexOf(']', i);
                end = end < 0 ? path.Length : end;
                segments.Add(int.TryParse(path.AsSpan(i + 1, end - i - 1), out var index) ? index : path[(i + 1)..end]);
                i = end + 1;
            }
        }
        return segments;
    }

    internal static string Key(List<object> segments)
    {
        var key = new StringBuilder();
        foreach (var segment in segments)
        {
            if (segment is int index)
            {
                key.Append('[').Append(index).Append(']');
            }
            else
            {
                key.Append(key.Length == 0 ? "" : ".").Append(segment);
            }
        }
        return key.ToString();
    }

    /// <summary>What the request type holds at <paramref name="segments"/>, in words ("an array of strings"), or null.</summary>
    private static string? Expected(Type type, List<object> segments, JsonSerializerOptions options)
    {
        foreach (var segment in segments)
        {
            var info = options.GetTypeInfo(type);
            var next = (info.Kind, segment) switch
            {
                (JsonTypeInfoKind.Object, string name) => info.Properties.FirstOrDefault(p => p.Name == name)?.PropertyType,
                (JsonTypeInfoKind.Enumerable, int) or (JsonTypeInfoKind.Dictionary, string) => info.ElementType,
                _ => null,
            };
            if (next is null)
            {
                return null;
            }
            type = next;
        }
        return Describe(type, options);
    }

    private static string Describe(Type type, JsonSerializerOptions options)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string) || type.IsEnum)
        {
            return "a string";
        }
        if (type == typeof(DateTimeOffset))
        {
            return "a time with an offset, such as 2026-12-01T10:00:00Z";
        }
        if (type == typeof(bool))
        {
            return "true or false";
        }
        if (type == typeof(int) || type == typeof(long))
        {
            return "a whole number";
        }
        var info = options.GetTypeInfo(type);
        var elements = info.ElementType == typeof(string) ? "strings" : "objects";
        return info.Kind switch
        {
            JsonTypeInfoKind.Enumerable => $"an array of {elements}",
            JsonTypeInfoKind.Dictionary => $"an object whose values are {elements}",
            _ => "an object",
        };
    }
}
