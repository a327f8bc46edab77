using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace MailApi.OpenApi;

/// <summary>
/// Schemas as the service really writes them, so generated clients neither throw on a null nor make every field optional:
/// <list type="bullet">
/// <item>an answer record (this assembly's positional records; request bodies end in <c>Request</c> and stay all-optional so the
/// validator, not the binder, names what is missing) lists every property it always writes as <c>required</c>; nullability
/// comes from the C# annotations (<c>SupportNonNullableReferenceTypes</c>), a nullable <c>$ref</c> as <c>allOf</c> + <c>nullable</c>;</item>
/// <item>an enum carries its C# member names (<c>partially_sent</c> → <c>PartiallySent</c>) in the extensions NSwag
/// (<c>x-enumNames</c>), Kiota (<c>x-ms-enum</c>) and openapi-generator (<c>x-enum-varnames</c>) read;</item>
/// <item><c>ProblemDetails</c> says which members every problem carries, and <c>ValidationProblem</c> adds <c>errors</c>;
/// both name <c>detail</c> the message of the exception Kiota makes of them (<c>x-ms-primary-error-message</c>).</item>
/// </list>
/// </summary>
public sealed class OpenApiSchemas : ISchemaFilter, IDocumentFilter
{
    public const string ValidationProblem = "ValidationProblem";

    public void Apply(IOpenApiSchema model, SchemaFilterContext context)
    {
        if (model is not OpenApiSchema schema)
        {
            return;
        }
        var type = context.Type;
        if (type.IsEnum)
        {
            NameMembers(schema, type);
        }
        else if (type == typeof(Microsoft.AspNetCore.Mvc.ProblemDetails) && schema.Properties is { } members)
        {
            // Every problem of this API carries type, title and status (ProblemDefaults fills what an answer leaves out).
            schema.Required = new HashSet<string> { "type", "title", "status" };
            foreach (var name in schema.Required)
            {
                if (members[name] is OpenApiSchema member)
                {
                    member.Type &= ~JsonSchemaType.Null;
                }
            }
            PrimaryMessage(members["detail"]);
        }
        else if (type.Assembly == typeof(OpenApiSchemas).Assembly && IsAnswer(type) && schema.Properties is { } properties)
        {
            schema.Required = new HashSet<string>(
                from property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                where property.GetCustomAttribute<JsonIgnoreAttribute>() is not { Condition: not JsonIgnoreCondition.Never }
                let name = JsonNamingPolicyName(property.Name)
                where properties.ContainsKey(name)
                select name);
        }
    }

    /// <summary>Kiota makes the error schemas exceptions; their message is the problem's <c>detail</c>.</summary>
    private static void PrimaryMessage(IOpenApiSchema detail)
    {
        if (detail is OpenApiSchema schema)
        {
            (schema.Extensions ??= new Dictionary<string, IOpenApiExtension>())["x-ms-primary-error-message"] = new JsonNodeExtension(true);
        }
    }

    /// <summary>A positional record (every property set by its constructor, every one written) that is no request body.</summary>
    private static bool IsAnswer(Type type) =>
        !type.Name.EndsWith("Request", StringComparison.Ordinal) && type.GetConstructor(Type.EmptyTypes) is null;

    private static string JsonNamingPolicyName(string name) => System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(name);

    /// <summary>The values in the order Swashbuckle wrote them (declaration order), each beside its C# name.</summary>
    private static void NameMembers(OpenApiSchema schema, Type type)
    {
        var names = Enum.GetNames(type);
        if (schema.Enum is not { } values || values.Count != names.Length)
        {
            return;
        }
        var extensions = schema.Extensions ??= new Dictionary<string, IOpenApiExtension>();
        extensions["x-enumNames"] = new JsonNodeExtension(new JsonArray([.. names.Select(n => (JsonNode)n)]));
        extensions["x-enum-varnames"] = new JsonNodeExtension(new JsonArray([.. names.Select(n => (JsonNode)n)]));
        extensions["x-ms-enum"] = new JsonNodeExtension(new JsonObject
        {
            ["name"] = type.Name,
            ["modelAsString"] = false,
            ["values"] = new JsonArray([.. values.Zip(names, (value, name) => (JsonNode)new JsonObject { ["value"] = value?.DeepClone(), ["name"] = name })]),
        });
    }

    /// <summary>
    /// A nullable reference, as OpenAPI 3.0 can say it. <c>nullable</c> beside an <c>allOf</c> does not loosen what the
    /// referenced schema demands, so a schema only ever used nullable (<c>ReplyResource</c>: every reply may be null) is
    /// itself <c>nullable</c> and its uses are plain <c>$ref</c>s (a wrapper with a <c>type</c>, which Redocly's
    /// nullable-type-sibling rule asks for, makes NSwag generate a subclass per property). Any other nullable reference
    /// keeps its <c>allOf</c> and takes the referenced schema's <c>type</c>.
    /// </summary>
    private static void TypeNullableReferences(IDictionary<string, IOpenApiSchema> schemas)
    {
        var uses = (from schema in schemas.Values.OfType<OpenApiSchema>()
                    from property in schema.Properties ?? new Dictionary<string, IOpenApiSchema>()
                    let wrapper = property.Value as OpenApiSchema
                    let target = wrapper?.AllOf is [OpenApiSchemaReference only] ? only : property.Value as OpenApiSchemaReference
                    where target?.Reference.Id is not null
                    select (Parent: schema, Name: property.Key, Target: target, Nullable: wrapper?.Type == JsonSchemaType.Null)).ToList();
        foreach (var use in uses.Where(u => u.Nullable))
        {
            var id = use.Target.Reference.Id!;
            if (uses.All(u => u.Target.Reference.Id != id || u.Nullable) && schemas[id] is OpenApiSchema target)
            {
                target.Type |= JsonSchemaType.Null;
                use.Parent.Properties![use.Name] = use.Target;
            }
            else
            {
                ((OpenApiSchema)use.Parent.Properties![use.Name]).Type = (schemas[id].Type ?? JsonSchemaType.Object) | JsonSchemaType.Null;
            }
        }
    }

    /// <summary>The 400 (and the sender 403) problem: a <c>ProblemDetails</c> whose <c>errors</c> maps a JSON path to its messages.</summary>
    public void Apply(OpenApiDocument document, DocumentFilterContext context)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        TypeNullableReferences(document.Components.Schemas);
        var text = new OpenApiSchema { Type = JsonSchemaType.String };
        document.Components.Schemas[ValidationProblem] = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = "A problem (RFC 9457) naming every failing field: `errors` maps a JSON path (`from`, `to[1]`, `messages[3].subject`; "
                + "a query parameter's name) to what is wrong with it. A body of the wrong shape lists every value of the wrong type, "
                + "unknown property and repeated key (the first 100). Nothing was stored or changed.",
            Required = new HashSet<string> { "type", "title", "status", "errors" },
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["type"] = text,
                ["title"] = text,
                ["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32" },
                ["detail"] = new OpenApiSchema
                {
                    Type = JsonSchemaType.String | JsonSchemaType.Null,
                    Extensions = new Dictionary<string, IOpenApiExtension> { ["x-ms-primary-error-message"] = new JsonNodeExtension(true) },
                },
                ["instance"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
                ["errors"] = new OpenApiSchema
                {
                    Type = JsonSchemaType.Object,
                    AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.Array, Items = text },
                },
            },
            AdditionalPropertiesAllowed = true,
        };
    }
}
