using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;

namespace MailApi.Tests.OpenApi;

/// <summary>
/// What the served document promises integrators, beside CI's Redocly lint (which checks the form, not these):
/// every operation has a summary, an example on every answer, and the answers it can really give.
/// </summary>
public sealed class OpenApiDocumentTests : IAsyncLifetime
{
    private readonly MailApiFactory _factory = new(FreePort.Get());
    private JsonObject _doc = null!;

    public async ValueTask InitializeAsync() =>
        _doc = (await _factory.CreateClient().GetFromJsonAsync<JsonObject>("/swagger/v1/swagger.json"))!;

    public async ValueTask DisposeAsync() => await _factory.DisposeAsync();

    private IEnumerable<(string Path, string Method, JsonObject Operation)> Operations() =>
        from path in _doc["paths"]!.AsObject()
        from method in path.Value!.AsObject()
        select (path.Key, method.Key, method.Value!.AsObject());

    [Fact]
    public void Every_operation_has_an_id_a_summary_and_an_example_on_every_answer()
    {
        Assert.NotEmpty(Operations());
        foreach (var (path, method, operation) in Operations())
        {
            Assert.False(string.IsNullOrWhiteSpace((string?)operation["operationId"]), $"{method} {path}: operationId");
            Assert.False(string.IsNullOrWhiteSpace((string?)operation["summary"]), $"{method} {path}: summary");
            foreach (var (status, response) in operation["responses"]!.AsObject())
            {
                // A 204 (DELETE /v1/webhooks/{id}) has no body to show.
                if (status == "204")
                {
                    Assert.Null(response!["content"]);
                    continue;
                }
                foreach (var (type, media) in response!["content"]!.AsObject())
                {
                    Assert.True(media!["example"] is not null || media["examples"] is not null, $"{method} {path} {status} {type}: no example");
                }
            }
        }
    }

    [Fact]
    public void Every_route_declares_401_the_storage_503_and_the_per_key_429_each_with_retry_after()
    {
        foreach (var (path, method, operation) in Operations())
        {
            var responses = operation["responses"]!.AsObject();
            Assert.True(responses.ContainsKey("401"), $"{method} {path}: 401");
            Assert.True(responses.ContainsKey("503"), $"{method} {path}: 503");
            Assert.NotNull(responses["503"]!["headers"]?["Retry-After"]);
            Assert.True(responses.ContainsKey("429"), $"{method} {path}: 429");
            Assert.NotNull(responses["429"]!["headers"]?["Retry-After"]);
        }
        var send = _doc["paths"]!["/v1/messages"]!["post"]!["responses"]!;
        Assert.NotNull(send["202"]!["headers"]!["Location"]);
        Assert.Equal(["overloaded", "storage"], send["503"]!["content"]!["application/problem+json"]!["examples"]!.AsObject().Select(e => e.Key));
    }

    [Fact]
    public void Servers_name_the_address_the_document_was_fetched_from_and_query_names_are_camel_case()
    {
        Assert.Equal("http://localhost", (string?)_doc["servers"]![0]!["url"]);
        var names = Parameters("/v1/messages", "get").Select(p => (string?)p["name"]).ToList();
        Assert.Equal(["status", "tag", "from", "to", "queueId", "createdAfter", "createdBefore", "limit", "cursor"], names);
    }

    [Fact]
    public void Parameters_say_what_the_service_enforces_and_are_declared_once()
    {
        foreach (var (path, method, _) in Operations().Where(o => o.Path.Contains('{')))
        {
            Assert.All(Parameters(path, method).Where(p => (string?)p["in"] == "path"),
                p => Assert.Equal((string?)p["name"] == "address" ? "idn-email" : "uuid", (string?)p["schema"]!["format"]));
        }
        var limit = Parameters("/v1/messages", "get").Single(p => (string?)p["name"] == "limit")["schema"]!;
        Assert.Equal((1, 100, 50), ((int)limit["minimum"]!, (int)limit["maximum"]!, (int)limit["default"]!));
        Assert.Equal("#/components/schemas/MessageStatus", (string?)Parameters("/v1/messages", "get")[0]["schema"]!["$ref"]);
        Assert.Equal("#/components/schemas/WebhookDeliveryStatus", (string?)Parameters("/v1/webhooks/{id}/deliveries", "get").Single(p => (string?)p["name"] == "status")["schema"]!["$ref"]);
        Assert.Equal(["Cursor", "DeliveryId", "IdempotencyKey", "Limit", "MessageId", "SuppressedAddress", "WebhookId"], _doc["components"]!["parameters"]!.AsObject().Select(p => p.Key).Order());
    }

    [Fact]
    public void Both_schemes_enums_with_member_names_and_errors_on_every_validation_answer()
    {
        Assert.Equal(["ApiKey", "Bearer"], _doc["security"]!.AsArray().Select(r => r!.AsObject().Single().Key));
        Assert.Equal("bearer", (string?)_doc["components"]!["securitySchemes"]!["Bearer"]!["scheme"]);
        var status = _doc["components"]!["schemas"]!["MessageStatus"]!;
        Assert.Equal("PartiallySent", (string?)status["x-enumNames"]![5]);
        Assert.Equal(("partially_sent", "PartiallySent"), ((string?)status["x-ms-enum"]!["values"]![5]!["value"], (string?)status["x-ms-enum"]!["values"]![5]!["name"]));
        foreach (var (path, method, operation) in Operations())
        {
            foreach (var (code, response) in operation["responses"]!.AsObject().Where(r => r.Key is "400" or "403"))
            {
                Assert.Equal("#/components/schemas/ValidationProblem", (string?)response!["content"]!["application/problem+json"]!["schema"]!["$ref"]);
            }
            if (operation["requestBody"] is not null)
            {
                Assert.All(new[] { "400", "413", "415" }, code => Assert.True(operation["responses"]![code] is not null, $"{method} {path}: {code}"));
            }
        }
        var queued = _doc["paths"]!["/v1/messages"]!["post"]!["responses"]!["202"]!["content"]!["application/json"]!["examples"]!;
        Assert.Equal(("queued", "scheduled"), ((string?)queued["queued"]!["value"]!["status"], (string?)queued["scheduled"]!["value"]!["status"]));
    }

    /// <summary>The operation's parameters, those declared once under components/parameters resolved.</summary>
    private List<JsonObject> Parameters(string path, string method) =>
        [.. _doc["paths"]![path]![method]!["parameters"]!.AsArray().Select(p => p!["$ref"] is { } reference
            ? _doc["components"]!["parameters"]![((string)reference!).Split('/')[^1]]!.AsObject()
            : p.AsObject())];
}
