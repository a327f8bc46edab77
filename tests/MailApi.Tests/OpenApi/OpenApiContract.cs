using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Json.Schema;

namespace MailApi.Tests.OpenApi;

/// <summary>
/// The served OpenAPI document as a judge of real answers. It finds the operation a request went to (method and path
/// template) and checks the answer: its status is declared, its media type is the declared one (none for a 204), every
/// header the document marks required is there, and its body validates against the declared schema.
/// <para>
/// The schemas are OpenAPI 3.0 (<c>nullable</c>, <c>#/components/schemas</c>); <see cref="ToJsonSchema"/> turns them into
/// JSON Schema 2020-12 for JsonSchema.Net: <c>nullable: true</c> adds <c>"null"</c> to <c>type</c> (and to <c>enum</c>),
/// or becomes <c>anyOf [schema, null]</c> where there is no <c>type</c>; references point into <c>$defs</c>.
/// Formats (uuid, date-time) are checked.
/// </para>
/// </summary>
public sealed class OpenApiContract
{
    private static readonly EvaluationOptions Evaluation = new() { OutputFormat = OutputFormat.List, RequireFormatValidation = true };

    private readonly JsonObject _defs;
    private readonly List<Operation> _operations;

    public OpenApiContract(JsonObject document)
    {
        Version = (string)document["openapi"]!;
        _defs = new JsonObject(document["components"]!["schemas"]!.AsObject().Select(s => KeyValuePair.Create(s.Key, (JsonNode?)ToJsonSchema(s.Value!))));
        _operations = [.. (from path in document["paths"]!.AsObject()
                           from method in path.Value!.AsObject()
                           let template = "^" + Regex.Replace(Regex.Escape(path.Key), @"\\\{[^/]+?}", "[^/]+") + "$"
                           let body = method.Value!["requestBody"]?["content"]?.AsObject().FirstOrDefault()
                           select new Operation(method.Key.ToUpperInvariant(), path.Key, new Regex(template), (string)method.Value!["operationId"]!,
                               method.Value!["responses"]!.AsObject(), body?.Key, body?.Value?["example"]))
                          // A literal segment wins over a parameter (/v1/messages/batch before /v1/messages/{id}).
                          .OrderBy(o => o.Template.Count(c => c == '{'))];
    }

    /// <summary>The document's OpenAPI version (Swashbuckle 11 writes 3.0.x unless told otherwise).</summary>
    public string Version { get; }

    /// <summary>Every operation and status the document declares.</summary>
    public IReadOnlySet<(string OperationId, string Status)> Declared =>
        _operations.SelectMany(o => o.Responses.Select(r => (o.Id, r.Key))).ToHashSet();

    /// <summary>The operation <paramref name="method"/> <paramref name="path"/> went to, or null when the document has none.</summary>
    public string? OperationOf(string method, string path) =>
        _operations.FirstOrDefault(o => o.Method == method && o.Pattern.IsMatch(path))?.Id;

    /// <summary>What is wrong with this answer of <paramref name="operationId"/>; empty when it is what the document says.</summary>
    public IReadOnlyList<string> Check(string operationId, int status, string? mediaType, IReadOnlyCollection<string> headers, JsonNode? body)
    {
        var operation = _operations.Single(o => o.Id == operationId);
        if (operation.Responses[status.ToString(System.Globalization.CultureInfo.InvariantCulture)] is not JsonObject response)
        {
            return [$"{operationId} answered {status}, which the document does not declare (it declares {string.Join(", ", operation.Responses.Select(r => r.Key))})"];
        }
        var problems = new List<string>();
        foreach (var (name, header) in response["headers"]?.AsObject() ?? [])
        {
            if ((bool?)header!["required"] == true && !headers.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                problems.Add($"{operationId} {status}: the required header {name} is missing");
            }
        }
        if (response["content"] is not JsonObject content)
        {
            if (mediaType is not null)
            {
                problems.Add($"{operationId} {status}: a {mediaType} body where the document declares none");
            }
            return problems;
        }
        if (mediaType is null || content[mediaType] is not JsonObject media)
        {
            problems.Add($"{operationId} {status}: media type {mediaType ?? "(none)"}, the document declares {string.Join(", ", content.Select(c => c.Key))}");
            return problems;
        }
        var result = SchemaOf(media["schema"]!).Evaluate(body, Evaluation);
        if (!result.IsValid)
        {
            problems.Add($"{operationId} {status}: the body does not match its schema: "
                + string.Join("; ", (result.Details ?? []).Where(d => d.HasErrors).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation} ({d.EvaluationPath}): {e.Value}")))
                + $"\n{body?.ToJsonString()}");
        }
        return problems;
    }

    /// <summary>The JSON Schema of the answer <paramref name="operationId"/> <paramref name="status"/> in <paramref name="mediaType"/>.</summary>
    public JsonSchema SchemaFor(string operationId, string status, string mediaType) =>
        SchemaOf(_operations.Single(o => o.Id == operationId).Responses[status]!["content"]![mediaType]!["schema"]!);

    /// <summary>Whether <paramref name="instance"/> is valid against <paramref name="schema"/>, as <see cref="Check"/> decides it.</summary>
    public static bool IsValid(JsonSchema schema, JsonNode? instance) => schema.Evaluate(instance, Evaluation).IsValid;

    private JsonSchema SchemaOf(JsonNode openApiSchema) => JsonSchema.FromText(new JsonObject
    {
        ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
        ["$defs"] = _defs.DeepClone(),
        ["allOf"] = new JsonArray(ToJsonSchema(openApiSchema)),
    }.ToJsonString());

    /// <summary>An OpenAPI 3.0 schema (or a map of them) as JSON Schema 2020-12; examples and x- extensions dropped.</summary>
    public static JsonNode ToJsonSchema(JsonNode node)
    {
        switch (node)
        {
            case JsonArray array:
                return new JsonArray([.. array.Select(n => n is null ? null : ToJsonSchema(n))]);
            case JsonObject source:
                var schema = new JsonObject();
                foreach (var (key, value) in source)
                {
                    if (key is "nullable" or "example" or "examples" || key.StartsWith("x-", StringComparison.Ordinal))
                    {
                        continue;
                    }
                    schema[key] = key switch
                    {
                        "$ref" => ((string)value!).Replace("#/components/schemas/", "#/$defs/", StringComparison.Ordinal),
                        "properties" => new JsonObject(value!.AsObject().Select(p => KeyValuePair.Create(p.Key, (JsonNode?)ToJsonSchema(p.Value!)))),
                        "enum" or "required" or "type" or "default" => value?.DeepClone(),
                        _ => value is JsonObject or JsonArray ? ToJsonSchema(value) : value?.DeepClone(),
                    };
                }
                if ((bool?)source["nullable"] != true)
                {
                    return schema;
                }
                if (schema["type"] is JsonValue type)
                {
                    schema["type"] = new JsonArray((string)type!, "null");
                    if (schema["enum"] is JsonArray values)
                    {
                        values.Add(null);
                    }
                    return schema;
                }
                return new JsonObject { ["anyOf"] = new JsonArray(schema, new JsonObject { ["type"] = "null" }) };
            default:
                return node.DeepClone();
        }
    }

    /// <summary>
    /// One request to every operation of the document: its path with <paramref name="pathValues"/> for the parameters
    /// (<c>{id}</c>, <c>{deliveryId}</c>), and the document's own example as the body where it takes one.
    /// </summary>
    public IEnumerable<(string OperationId, HttpRequestMessage Request)> EveryOperation(Func<string, string, string> pathValues) =>
        from operation in _operations
        let path = Regex.Replace(operation.Template, @"\{([^/]+?)}", m => pathValues(operation.Template, m.Groups[1].Value))
        select (operation.Id, new HttpRequestMessage(new HttpMethod(operation.Method), path)
        {
            // A JSON body as JSON; another media type's example (a mail for message/rfc822) is its text.
            Content = operation.BodyExample is null ? null : new StringContent(
                operation.BodyMediaType != "application/json" && operation.BodyExample is JsonValue text ? (string)text! : operation.BodyExample.ToJsonString(),
                System.Text.Encoding.UTF8, operation.BodyMediaType!),
        });

    private sealed record Operation(string Method, string Template, Regex Pattern, string Id, JsonObject Responses, string? BodyMediaType, JsonNode? BodyExample);
}
