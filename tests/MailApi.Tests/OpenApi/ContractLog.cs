using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc.Testing;

namespace MailApi.Tests.OpenApi;

/// <summary>
/// Checks every answer a test's clients receive against <see cref="OpenApiContract"/> as it arrives, and keeps what it saw:
/// each operation and status, the status of every message resource, and every mismatch.
/// </summary>
public sealed class ContractLog(OpenApiContract contract)
{
    private static readonly string[] MessageOperations = ["SendMessage", "GetMessage", "CancelMessage"];

    public ConcurrentDictionary<(string OperationId, string Status), int> Seen { get; } = new();

    /// <summary>The <c>status</c> of every message resource answered (202, GetMessage, CancelMessage).</summary>
    public ConcurrentDictionary<string, int> MessageStatuses { get; } = new();

    public ConcurrentQueue<string> Problems { get; } = new();

    /// <summary>A client of <paramref name="factory"/> whose answers are checked; it sends <paramref name="key"/> as a Bearer token.</summary>
    public HttpClient Client(WebApplicationFactory<Program> factory, string? key)
    {
        var client = factory.CreateDefaultClient(new Checker(this));
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        return client;
    }

    private async Task RecordAsync(HttpRequestMessage request, HttpResponseMessage response)
    {
        if (contract.OperationOf(request.Method.Method, request.RequestUri!.AbsolutePath) is not { } operation)
        {
            return;
        }
        var status = (int)response.StatusCode;
        Seen.AddOrUpdate((operation, status.ToString(System.Globalization.CultureInfo.InvariantCulture)), 1, (_, n) => n + 1);
        var text = await response.Content.ReadAsStringAsync();
        var mediaType = text.Length == 0 ? null : response.Content.Headers.ContentType?.MediaType;
        JsonNode? body = null;
        try
        {
            // A body of another media type (a mail as message/rfc822) is checked as the string it is.
            body = text.Length == 0 ? null : mediaType?.EndsWith("json", StringComparison.Ordinal) == false ? JsonValue.Create(text) : JsonNode.Parse(text);
        }
        catch (JsonException e)
        {
            Problems.Enqueue($"{operation} {status}: the body is not JSON ({e.Message}): {text}");
            return;
        }
        var headers = response.Headers.Concat(response.Content.Headers).Select(h => h.Key).ToList();
        foreach (var problem in contract.Check(operation, status, mediaType, headers, body))
        {
            Problems.Enqueue($"{request.Method} {request.RequestUri.PathAndQuery}: {problem}");
        }
        if (status < 300 && MessageOperations.Contains(operation) && (string?)body?["status"] is { } resourceStatus)
        {
            MessageStatuses.AddOrUpdate(resourceStatus, 1, (_, n) => n + 1);
        }
    }

    private sealed class Checker(ContractLog log) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            await response.Content.LoadIntoBufferAsync(cancellationToken);
            await log.RecordAsync(request, response);
            return response;
        }
    }
}
