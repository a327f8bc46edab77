using System.Text.Json;
using System.Text.Json.Serialization;

namespace MailApi.Messages;

/// <summary>The JSON of the HTTP API: camelCase, enums as snake_case strings, and strict input (duplicate keys are an error).</summary>
public static class ApiJson
{
    /// <summary>The API's settings on top of the web defaults, for other serialisers that must read and write as the API does.</summary>
    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false));
        options.AllowDuplicateProperties = false;
        return options;
    }
}
