using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace MailApi.Tests.Auth;

/// <summary>The per-key request limit: RateLimit:PerKeyPerMinute, overridden by Auth:ApiKeys:N:RateLimitPerMinute.</summary>
public sealed class KeyRateLimitTests
{
    [Fact]
    public async Task Past_its_limit_a_key_gets_429_problem_with_retry_after_nothing_is_stored_and_other_keys_keep_their_own_limit()
    {
        using var factory = new MailApiFactory(25, new Dictionary<string, string?>
        {
            ["RateLimit:PerKeyPerMinute"] = "3",
            ["Auth:ApiKeys:1:RateLimitPerMinute"] = "5",
            // Nothing is delivered: the messages stay scheduled, so the store shows exactly what was accepted.
        });
        var alpha = factory.ClientFor(MailApiFactory.AlphaKey);
        var beta = factory.ClientFor(MailApiFactory.BetaKey);
        var body = Bodies.Valid();
        body["sendAt"] = DateTimeOffset.UtcNow.AddHours(1).ToString("O");

        var answers = new List<HttpResponseMessage>();
        for (var i = 0; i < 4; i++)
        {
            answers.Add(await alpha.PostAsJsonAsync("/v1/messages", body));
        }

        Assert.Equal([HttpStatusCode.Accepted, HttpStatusCode.Accepted, HttpStatusCode.Accepted, HttpStatusCode.TooManyRequests],
            answers.Select(a => a.StatusCode));
        var refused = answers[3];
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        var retryAfter = int.Parse(Assert.Single(refused.Headers.GetValues("Retry-After")), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 60);
        var problem = (await refused.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(429, (int)problem["status"]!);
        Assert.Equal("https://tools.ietf.org/html/rfc6585#section-4", (string?)problem["type"]);
        Assert.Equal("Too many requests", (string?)problem["title"]);
        Assert.Contains("3 requests a minute", (string?)problem["detail"]);

        // The key that was refused reads nothing either until the window ends: the limit counts every request.
        Assert.Equal(HttpStatusCode.TooManyRequests, (await alpha.GetAsync("/v1/messages")).StatusCode);

        // Beta's own limit (5) is untouched by alpha's requests.
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await beta.PostAsJsonAsync("/v1/messages", body)).StatusCode);
        }
        var listed = (await beta.GetFromJsonAsync<JsonObject>("/v1/messages"))!;
        Assert.Equal(4, listed["items"]!.AsArray().Count);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await beta.PostAsJsonAsync("/v1/messages", body)).StatusCode);

        // Nothing of a refused request was stored: the store holds 3 of alpha's and 4 of beta's.
        var store = factory.Services.GetRequiredService<MailApi.Storage.IMessageStore>();
        var all = await store.ListAsync(new MailApi.Storage.MessageQuery { Owner = "alpha", Limit = 100 }, CancellationToken.None);
        Assert.Equal(3, all.Items.Count);
    }

    [Fact]
    public async Task Without_a_configured_limit_requests_are_not_limited()
    {
        using var factory = new MailApiFactory(25);
        var client = factory.ClientFor();
        for (var i = 0; i < 30; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/messages")).StatusCode);
        }
    }
}
