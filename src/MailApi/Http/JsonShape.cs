using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace MailApi.Http;

/// <summary>
/// Walks a body that is valid JSON beside the type it should be, as System.Text.Json reads it, and lists every value of
/// the wrong type or shape, every property the type does not have and every key given twice: the serialiser stops at
/// the first. Run only for a body the serialiser refused, so a valid body is parsed once.
/// </summary>
internal static class JsonShape
{
    /// <summary>Listing stops here: a 30 MB array of wrong values would otherwise make an answer larger than the body.</summary>
    public const int MaxErrors = 100;

    /// <summary>The errors by JSON path in document order, or null when <paramref name="json"/> is no JSON document.</summary>
    public static Dictionary<string, string[]>? Errors(ReadOnlyMemory<byte> json, Type root, JsonSerializerOptions options)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = options.MaxDepth, AllowTrailingCommas = options.AllowTrailingCommas });
        }
        catch (JsonException)
        {
            return null;
        }
        using (document)
        {
            var errors = new Dictionary<string, string[]>();
            Walk(document.RootElement, root, [], options, errors);
            return errors;
        }
    }

    private static void Walk(JsonElement element, Type type, List<object> path, JsonSerializerOptions options, Dictionary<string, string[]> errors)
    {
        var info = options.GetTypeInfo(type);
        var fits = (info.Kind, element.ValueKind) switch
        {
            // A leaf (string, number, time, enum) is read by the serialiser itself: its rules, not a copy of them.
            (JsonTypeInfoKind.None, _) => Leaf(element, type, path, options, errors),
            // Null is what an absent object or list is, unless the type is a non-nullable struct.
            (_, JsonValueKind.Null) => !type.IsValueType || Nullable.GetUnderlyingType(type) is not null,
            (JsonTypeInfoKind.Object, JsonValueKind.Object) => Properties(element, info, path, options, errors),
            (JsonTypeInfoKind.Dictionary, JsonValueKind.Object) => Properties(element, info, path, options, errors),
            (JsonTypeInfoKind.Enumerable, JsonValueKind.Array) => Items(element, info, path, options, errors),
            _ => false,
        };
        if (!fits && errors.Count < MaxErrors)
        {
            var key = JsonErrors.Key(path);
            errors.TryAdd(key, [JsonErrors.WrongType(key, type, options)]);
        }
    }

    private static bool Leaf(JsonElement element, Type type, List<object> path, JsonSerializerOptions options, Dictionary<string, string[]> errors)
    {
        try
        {
            JsonSerializer.Deserialize(element, type, options);
            return true;
        }
        catch (JsonException e) when (e.InnerException is InvalidOperationException { InnerException: DecoderFallbackException })
        {
            var key = JsonErrors.Key(path);
            errors.TryAdd(key, [JsonErrors.NotUtf8(key)]);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>An object's properties (or a dictionary's values) against their types; unknown and repeated keys are errors.</summary>
    private static bool Properties(JsonElement element, JsonTypeInfo info, List<object> path, JsonSerializerOptions options, Dictionary<string, string[]> errors)
    {
        var names = options.PropertyNameCaseInsensitive ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;
        var strict = info.Kind == JsonTypeInfoKind.Object && (info.UnmappedMemberHandling ?? options.UnmappedMemberHandling) == JsonUnmappedMemberHandling.Disallow
            && !info.Properties.Any(p => p.IsExtensionData);
        var seen = new HashSet<string>(names);
        foreach (var property in element.EnumerateObject())
        {
            if (errors.Count >= MaxErrors)
            {
                break;
            }
            if (!TryName(property, out var name))
            {
                // A name that is not UTF-8 cannot be spelled back: the object that holds it is named instead.
                var parent = JsonErrors.Key(path);
                errors.TryAdd(parent, [JsonErrors.NotUtf8Name(parent)]);
                continue;
            }
            path.Add(name);
            var key = JsonErrors.Key(path);
            var type = info.Kind == JsonTypeInfoKind.Dictionary ? info.ElementType : info.Properties.FirstOrDefault(p => names.Equals(p.Name, name))?.PropertyType;
            if (!seen.Add(name) && !options.AllowDuplicateProperties)
            {
                errors.TryAdd(key, [JsonErrors.Duplicate(key)]);
            }
            else if (type is not null)
            {
                Walk(property.Value, type, path, options, errors);
            }
            else if (strict)
            {
                errors.TryAdd(key, [JsonErrors.Unknown(key)]);
            }
            path.RemoveAt(path.Count - 1);
        }
        return true;
    }

    private static bool TryName(JsonProperty property, out string name)
    {
        try
        {
            name = property.Name;
            return true;
        }
        catch (InvalidOperationException)
        {
            name = "";
            return false;
        }
    }

    private static bool Items(JsonElement element, JsonTypeInfo info, List<object> path, JsonSerializerOptions options, Dictionary<string, string[]> errors)
    {
        var index = 0;
        foreach (var item in element.EnumerateArray())
        {
            if (errors.Count >= MaxErrors)
            {
                break;
            }
            path.Add(index++);
            Walk(item, info.ElementType!, path, options, errors);
            path.RemoveAt(path.Count - 1);
        }
        return true;
    }
}
