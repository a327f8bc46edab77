using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;

namespace MailApi.Tests.Http;

/// <summary>
/// A typed query value the framework cannot read is a 400 naming the parameter as the API spells it and saying what it
/// must be; neither the key nor the detail shows a .NET type or C# name (<c>Nullable&lt;DateTimeOffset&gt; CreatedAfter</c>).
/// </summary>
public sealed class QueryValueTests(NoRelayService service) : IClassFixture<NoRelayService>
{
    /// <summary>Every typed query parameter of every list: the path with the bad value, the key, what the value must be.</summary>
    public static TheoryData<string, string, string> Values() => new()
    {
        { "/v1/messages?createdAfter=tomorrow", "createdAfter", "createdAfter must be a date-time (RFC 3339)" },
        { "/v1/messages?createdBefore=2026-13-45", "createdBefore", "createdBefore must be a date-time (RFC 3339)" },
        { "/v1/messages?limit=abc", "limit", "limit must be a whole number" },
        { "/v1/bounces?matched=maybe", "matched", "matched must be true or false" },
        { "/v1/bounces?limit=ten", "limit", "limit must be a whole number" },
        { "/v1/suppressions?limit=1.5", "limit", "limit must be a whole number" },
        { "/v1/webhooks/0193f1e2-7c1a-7b3e-9a55-6c1f1e0d2a11/deliveries?limit=x", "limit", "limit must be a whole number" },
    };

    [Theory]
    [MemberData(nameof(Values))]
    public async Task A_bad_query_value_names_the_parameter_and_what_it_must_be(string path, string key, string rule)
    {
        var response = await service.Factory.ClientFor().GetAsync(path);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        var problem = JsonNode.Parse(text)!.AsObject();
        var error = Assert.Single(problem["errors"]!.AsObject());
        Assert.Equal(key, error.Key);
        Assert.StartsWith(rule, (string?)error.Value![0]);
        Assert.StartsWith(rule, (string?)problem["detail"]);
        foreach (var dotnet in new[] { "Nullable", "DateTimeOffset", "Int32", "int ", "bool", "Boolean", "Failed to bind", "Matched", "Limit", "CreatedAfter" })
        {
            Assert.DoesNotContain(dotnet, text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_value_given_is_quoted_back()
    {
        var response = await service.Factory.ClientFor().GetAsync("/v1/messages?createdAfter=tomorrow");
        var detail = (string?)(await response.Content.ReadFromJsonAsync<JsonObject>())!["detail"];
        Assert.Equal("createdAfter must be a date-time (RFC 3339), such as 2026-12-01T10:00:00Z; 'tomorrow' is not.", detail);
    }
}
