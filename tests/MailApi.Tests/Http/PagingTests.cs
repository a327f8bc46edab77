using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Http;
using MailApi.Tests.Infrastructure;

namespace MailApi.Tests.Http;

/// <summary>Every list pages alike: the same bounds on <c>limit</c>, the same cursor form, the same words when either is wrong.</summary>
public sealed class PagingTests(NoRelayService service) : IClassFixture<NoRelayService>
{
    public static TheoryData<string> Lists() =>
        ["/v1/messages", "/v1/bounces", "/v1/suppressions", "/v1/webhooks/0193f1e2-7c1a-7b3e-9a55-6c1f1e0d2a11/deliveries"];

    [Theory]
    [MemberData(nameof(Lists))]
    public async Task A_limit_outside_1_to_100_or_a_cursor_this_api_did_not_return_is_a_400_naming_it(string list)
    {
        var client = service.Factory.ClientFor();
        foreach (var (query, key, message) in new[]
        {
            ("limit=0", "limit", "'limit' must be between 1 and 100."),
            ("limit=101", "limit", "'limit' must be between 1 and 100."),
            ("cursor=not-a-cursor", "cursor", "'cursor' is not a cursor this API returned."),
        })
        {
            var response = await client.GetAsync($"{list}?{query}");

            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var error = Assert.Single((await response.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!.AsObject());
            Assert.Equal(key, error.Key);
            Assert.Equal(message, (string?)error.Value![0]);
        }
    }

    [Fact]
    public void A_cursor_stands_for_the_id_it_was_made_from_and_nothing_else_reads_as_one()
    {
        var id = Guid.CreateVersion7();

        Assert.Equal(id, Paging.ParseCursor(Paging.CursorAfter(id)));
        Assert.Null(Paging.ParseCursor(id.ToString()));
        Assert.Null(Paging.ParseCursor(Paging.CursorAfter(id)[..^1]));
    }
}
