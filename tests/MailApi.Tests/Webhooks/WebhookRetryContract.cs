using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;
using MailApi.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using WireMock;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace MailApi.Tests.Webhooks;

/// <summary>What the receiver's answers do: retries with one webhook-id, 410, Retry-After, redirects, timeouts, rotation, manual retry.</summary>
public abstract partial class WebhookDeliveryContract
{
    private async Task<HttpResponseMessage> TestEventAsync(string endpoint)
    {
        var response = await Client.PostAsync($"/v1/webhooks/{endpoint}/test", null);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return response;
    }

    [Fact]
    public async Task Answers_500_500_200_are_three_tries_with_one_webhook_id()
    {
        AnswerInTurn(r => r.WithStatusCode(500), r => r.WithStatusCode(500).WithBody("still down"), r => r.WithStatusCode(200));
        var (endpoint, secret) = await CreateEndpointAsync();
        await TestEventAsync(endpoint);

        var requests = await Receiver.WaitForAsync(3);
        var delivery = await WaitForDeliveryAsync(endpoint, d => (string?)d["status"] == "delivered");

        Assert.Single(requests.Select(r => r.Header("webhook-id")).Distinct());
        Assert.Equal((string)delivery["id"]!, requests[0].Header("webhook-id"));
        Assert.All(requests, r => Assert.True(r.VerifiesWith(secret)));
        Assert.Equal("webhook.test", (string)requests[0].Json["type"]!);
        Assert.Equal([500, 500, 200], StatusCodes(delivery));
        Assert.Equal("still down", (string?)delivery["attempts"]![1]!["responseBody"]);
        Assert.NotNull((string?)delivery["attempts"]![0]!["error"]);
        Assert.Null(delivery["nextAttemptAt"]);
    }

    [Fact]
    public async Task A_410_disables_the_endpoint_and_nothing_more_is_sent()
    {
        Answer(410);
        var (endpoint, _) = await CreateEndpointAsync();
        await TestEventAsync(endpoint);

        await Receiver.WaitForAsync(1);
        var delivery = await WaitForDeliveryAsync(endpoint, d => (string?)d["status"] == "failed");
        var disabled = (await Client.GetFromJsonAsync<JsonObject>($"/v1/webhooks/{endpoint}"))!;
        Assert.False((bool)disabled["enabled"]!);
        Assert.Contains("410", (string?)disabled["disabledReason"]);
        Assert.Equal([410], StatusCodes(delivery));

        // A message's events and a test event find it disabled: no request goes out.
        var id = await SendMessageAsync(Infrastructure.Bodies.Valid());
        await Infrastructure.MailApiFactory.WaitForStatusAsync(Client, id, Patience, "sent");
        await TestEventAsync(endpoint);
        var second = await WaitForDeliveryAsync(endpoint, d => (string?)d["type"] == "webhook.test" && (string?)d["status"] == "failed"
            && (string?)d["id"] != (string?)delivery["id"]);
        Assert.Equal([null], StatusCodes(second));
        Assert.Single(Receiver.Requests());
    }

    [Fact]
    public async Task A_503_with_Retry_After_is_tried_again_no_sooner_than_asked()
    {
        AnswerInTurn(r => r.WithStatusCode(503).WithHeader("Retry-After", "2"), r => r.WithStatusCode(200));
        var (endpoint, _) = await CreateEndpointAsync();
        await TestEventAsync(endpoint);

        var requests = await Receiver.WaitForAsync(2);
        var delivery = await WaitForDeliveryAsync(endpoint, d => (string?)d["status"] == "delivered");

        // The schedule says 0.1 s; the receiver asked for 2 s.
        Assert.True(requests[1].At - requests[0].At >= TimeSpan.FromSeconds(1.9), $"{requests[1].At - requests[0].At}");
        Assert.Equal([503, 200], StatusCodes(delivery));
    }

    [Fact]
    public async Task A_redirect_is_not_followed_and_counts_as_a_failure()
    {
        AnswerInTurn(r => r.WithStatusCode(302).WithHeader("Location", Receiver.Url("/elsewhere")), r => r.WithStatusCode(200));
        Answer(200, "/elsewhere");
        var (endpoint, _) = await CreateEndpointAsync();
        await TestEventAsync(endpoint);

        var delivery = await WaitForDeliveryAsync(endpoint, d => (string?)d["status"] == "delivered");

        Assert.Equal([302, 200], StatusCodes(delivery));
        Assert.Contains("redirect", (string?)delivery["attempts"]![0]!["error"]);
        Assert.Empty(Receiver.Requests("/elsewhere"));
    }

    [Fact]
    public async Task A_slow_receiver_times_out_and_is_tried_again()
    {
        await RestartWithAsync("Webhooks:Timeout", "00:00:05");
        AnswerInTurn(r => r.WithStatusCode(200).WithDelay(TimeSpan.FromSeconds(30)), r => r.WithStatusCode(200));
        var (endpoint, _) = await CreateEndpointAsync();
        await TestEventAsync(endpoint);

        var delivery = await WaitForDeliveryAsync(endpoint, d => (string?)d["status"] == "delivered");

        Assert.Equal([null, 200], StatusCodes(delivery));
        Assert.Contains("Webhooks:Timeout", (string?)delivery["attempts"]![0]!["error"]);
    }

    [Fact]
    public async Task After_a_rotation_each_request_carries_two_signatures_that_both_verify()
    {
        Answer(200);
        var (endpoint, oldSecret) = await CreateEndpointAsync();
        var rotated = await Client.PostAsync($"/v1/webhooks/{endpoint}/rotate-secret", null);
        var newSecret = (string)(await rotated.Content.ReadFromJsonAsync<JsonObject>())!["secret"]!;
        await TestEventAsync(endpoint);

        var request = (await Receiver.WaitForAsync(1)).Single();

        var signatures = request.Header("webhook-signature")!.Split(' ');
        Assert.Equal(2, signatures.Length);
        Assert.All(signatures, s => Assert.StartsWith("v1,", s));
        Assert.True(request.VerifiesWith(newSecret));
        Assert.True(request.VerifiesWith(oldSecret));
    }

    [Fact]
    public async Task A_manual_retry_of_a_failed_delivery_sends_the_same_webhook_id_again()
    {
        // 1 try + 3 retries, all 500: failed. Then the receiver recovers and the caller retries.
        AnswerInTurn(r => r.WithStatusCode(500), r => r.WithStatusCode(500), r => r.WithStatusCode(500), r => r.WithStatusCode(500),
            r => r.WithStatusCode(204));
        var (endpoint, _) = await CreateEndpointAsync();
        await TestEventAsync(endpoint);
        var failed = await WaitForDeliveryAsync(endpoint, d => (string?)d["status"] == "failed");
        Assert.Equal([500, 500, 500, 500], StatusCodes(failed));

        var retry = await Client.PostAsync($"/v1/webhooks/{endpoint}/deliveries/{failed["id"]}/retry", null);
        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        var requests = await Receiver.WaitForAsync(5);
        var delivered = await WaitForDeliveryAsync(endpoint, d => (string?)d["status"] == "delivered");

        Assert.Equal((string)failed["id"]!, requests[4].Header("webhook-id"));
        Assert.Single(requests.Select(r => r.Header("webhook-id")).Distinct());
        Assert.Equal([500, 500, 500, 500, 204], StatusCodes(delivered));
        var page = (await Client.GetFromJsonAsync<JsonObject>($"/v1/webhooks/{endpoint}/deliveries?status=delivered&limit=1"))!;
        Assert.Single(page["items"]!.AsArray());
        Assert.Equal(HttpStatusCode.BadRequest, (await Client.GetAsync($"/v1/webhooks/{endpoint}/deliveries?status=lost")).StatusCode);
    }

    [Fact]
    public async Task A_delivery_job_run_three_times_at_once_sends_one_request()
    {
        // A slow receiver keeps the first try open while the other runs look at the delivery.
        AnswerInTurn(r => r.WithStatusCode(200).WithDelay(TimeSpan.FromMilliseconds(500)));
        var (endpoint, _) = await CreateEndpointAsync();
        var test = await TestEventAsync(endpoint);
        var deliveryId = Guid.Parse((string)(await test.Content.ReadFromJsonAsync<JsonObject>())!["id"]!);

        // Hangfire's own run, and two more as a duplicate job (the sweep, a second instance) would start them.
        using var scope = Factory.Services.CreateScope();
        await Task.WhenAll(Enumerable.Range(0, 2).Select(_ =>
            scope.ServiceProvider.GetRequiredService<MailApi.Webhooks.WebhookDeliveryJob>().RunAsync(deliveryId, CancellationToken.None)));
        var delivery = await WaitForDeliveryAsync(endpoint, d => (string?)d["status"] == "delivered");

        // One request per recorded try, whichever run made it: no run sent a try it had not claimed. (On a loaded machine
        // the first try may outlast Webhooks:Timeout and be tried again; that second try is a try of its own.)
        var tries = StatusCodes(delivery);
        Assert.Equal(tries.Length, Receiver.Requests().Count);
        Assert.Equal(200, tries[^1]);
        Assert.All(tries[..^1], code => Assert.Null(code));
    }

    /// <summary>The receiver holds its answer to the first request until <c>Release</c> is set; later requests are answered at once.</summary>
    private (Task Arrived, ManualResetEventSlim Release, Func<int> Requests) HoldFirstAnswer()
    {
        var release = new ManualResetEventSlim();
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var received = 0;
        Receiver.Server.Given(Request.Create().WithPath("/hook").UsingPost()).RespondWith(Response.Create().WithCallback(_ =>
        {
            if (Interlocked.Increment(ref received) == 1)
            {
                arrived.TrySetResult();
                release.Wait(Patience);
            }
            return new ResponseMessage { StatusCode = 204 };
        }));
        return (arrived.Task, release, () => Volatile.Read(ref received));
    }

    [Fact]
    public async Task A_duplicate_run_while_a_message_events_first_try_is_open_sends_nothing()
    {
        var (arrived, release, requests) = HoldFirstAnswer();
        using var _ = release;
        var (endpoint, _) = await CreateEndpointAsync("message.sent");
        await SendMessageAsync(Bodies.Valid());
        await arrived.WaitAsync(Patience);
        var open = await WaitForDeliveryAsync(endpoint, d => (string?)d["status"] == "pending");

        // The sweep or a second instance runs the delivery's job while the dispatcher's first try waits for its answer.
        using (var scope = Factory.Services.CreateScope())
        {
            await scope.ServiceProvider.GetRequiredService<WebhookDeliveryJob>().RunAsync(Guid.Parse((string)open["id"]!), CancellationToken.None);
        }
        release.Set();

        var delivered = await WaitForDeliveryAsync(endpoint, d => (string?)d["status"] == "delivered");
        Assert.Equal([204], StatusCodes(delivered));
        Assert.Equal(1, requests());
    }

    [Fact]
    public async Task A_first_try_whose_hold_was_used_up_by_earlier_tries_claims_the_delivery_first()
    {
        var (arrived, release, requests) = HoldFirstAnswer();
        using var _ = release;
        var (endpointId, _) = await CreateEndpointAsync("message.sent");
        using var scope = Factory.Services.CreateScope();
        var store = scope.ServiceProvider.GetRequiredService<IWebhookStore>();
        var endpoint = (await store.FindEndpointAsync(Guid.Parse(endpointId), CancellationToken.None))!;
        // As the dispatcher stored it, but the tries of the message's other endpoints before it took the whole hold.
        var now = DateTimeOffset.UtcNow;
        var held = (await store.AddDeliveriesAsync([WebhookStoreContract.Delivery(endpoint, at: now)], CancellationToken.None)).Single();

        var jobs = scope.ServiceProvider.GetRequiredService<WebhookDeliveryJob>();
        var first = jobs.FirstTryAsync(held, endpoint, CancellationToken.None);
        await arrived.WaitAsync(Patience);
        // A duplicate run during that try finds the delivery claimed, not due.
        await jobs.RunAsync(held.Id, CancellationToken.None);
        release.Set();
        await first;

        var delivered = await WaitForDeliveryAsync(endpointId, d => (string?)d["status"] == "delivered");
        Assert.Equal([204], StatusCodes(delivered));
        Assert.Equal(1, requests());
    }
}
