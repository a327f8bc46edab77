using System.Text.Json;
using System.Text.Json.Serialization;

namespace MailApi.Http;

/// <summary>
/// The JSON of the HTTP API: camelCase, enums as snake_case strings, and strict input: a duplicate key, or a property the
/// body does not have (<c>"priority"</c>, <c>"reply_to"</c>, <c>"CC"</c>), is an error naming its path, so a typo fails loudly
/// instead of a mail going out without its Reply-To. Objects whose keys are data (<c>headers</c>, <c>metadata</c>) take any key.
/// </summary>
public static class ApiJson
{
    /// <summary>The API's settings on top of the web defaults, for other serialisers that must read and write as the API does.</summary>
    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false));
        options.AllowDuplicateProperties = false;
        options.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        // Names are matched as spelled: "CC" is not "cc" (the web defaults would take it), so it is refused like any typo.
        options.PropertyNameCaseInsensitive = false;
        return options;
    }
}
