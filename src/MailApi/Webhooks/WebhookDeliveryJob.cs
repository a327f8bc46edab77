using Hangfire;
using MailApi.Telemetry;
using Microsoft.Extensions.Options;

namespace MailApi.Webhooks;

/// <summary>
/// The Hangfire job: one try of one delivery, found by id in the store. Safe to run twice: it claims the try by
/// compare-and-set (moving <c>nextAttemptAt</c> past the try's timeout), so a duplicate run finds it not due and leaves it,
/// and only the run that claimed it records the answer and schedules the next try.
/// </summary>
public sealed class WebhookDeliveryJob(
    IWebhookStore store,
    WebhookHttp http,
    IWebhookQueue queue,
    IOptionsMonitor<WebhookOptions> options,
    MailApiMetrics metrics,
    TimeProvider clock,
    ILogger<WebhookDeliveryJob> logger)
{
    /// <summary>Hangfire's own retries are off: <see cref="WebhookOptions.RetryDelays"/> is the only schedule.</summary>
    [AutomaticRetry(Attempts = 0)]
    public async Task RunAsync(Guid deliveryId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (await store.FindDeliveryAsync(deliveryId, cancellationToken) is not { Status: WebhookDeliveryStatus.Pending } delivery
            || delivery.NextAttemptAt > now)
        {
            // Done, deleted, or not due (another run holds this try): its own job or the sweep comes back for it.
            return;
        }
        if (await store.FindEndpointAsync(delivery.EndpointId, cancellationToken) is not { } endpoint)
        {
            return;
        }
        if (!endpoint.Enabled)
        {
            var failed = await store.TryUpdateDeliveryAsync(delivery with
            {
                Status = WebhookDeliveryStatus.Failed,
                NextAttemptAt = null,
                UpdatedAt = now,
                Attempts = [.. delivery.Attempts, new WebhookAttempt(now, null, 0, endpoint.DisabledReason ?? "The endpoint is disabled.", null)],
            }, cancellationToken);
            if (failed is not null)
            {
                metrics.WebhookTried(failed);
            }
            return;
        }
        var claimed = await ClaimAsync(delivery, now, cancellationToken);
        if (claimed is not null)
        {
            await TryAsync(claimed, endpoint, now, cancellationToken);
        }
    }

    /// <summary>
    /// When a try that starts at <paramref name="now"/> lets go of its delivery: past the request's timeout, so no other run
    /// takes the try meanwhile, and a try lost to a crash is due again then.
    /// </summary>
    public DateTimeOffset HeldUntil(DateTimeOffset now) => now + options.CurrentValue.Timeout + TimeSpan.FromSeconds(30);

    /// <summary>Takes the try by compare-and-set, holding the delivery until <see cref="HeldUntil"/>; null if another run changed it first.</summary>
    private Task<StoredDelivery?> ClaimAsync(StoredDelivery delivery, DateTimeOffset now, CancellationToken cancellationToken) =>
        store.TryUpdateDeliveryAsync(delivery with { NextAttemptAt = HeldUntil(now), UpdatedAt = now }, cancellationToken);

    /// <summary>
    /// The first try of a delivery that <see cref="WebhookDispatcher"/> stored already held for it (<c>nextAttemptAt</c> =
    /// <see cref="HeldUntil"/>) and whose endpoint it has in hand: neither is read again, and no claim is written, unless
    /// the tries made before it (the message's other endpoints, each up to the timeout) left too little of the hold for
    /// this one to end within it; then it is claimed afresh, as a job's try is.
    /// </summary>
    public async Task FirstTryAsync(StoredDelivery held, StoredEndpoint endpoint, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var mine = held.NextAttemptAt >= now + options.CurrentValue.Timeout
            ? held
            : await ClaimAsync(held, now, cancellationToken);
        if (mine is not null)
        {
            await TryAsync(mine, endpoint, now, cancellationToken);
        }
    }

    /// <summary>One request for a delivery this run holds, its answer recorded, and the next try scheduled if there is one.</summary>
    private async Task TryAsync(StoredDelivery claimed, StoredEndpoint endpoint, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var deliveryId = claimed.Id;
        var settings = options.CurrentValue;
        var response = await http.PostAsync(endpoint, claimed, cancellationToken);
        var next = Apply(claimed, response, now, settings);
        var saved = await store.TryUpdateDeliveryAsync(next, CancellationToken.None);
        if (saved is null)
        {
            // A manual retry (or a deleted endpoint) came in during the try: that retry is now the delivery's story.
            logger.LogInformation("Delivery {DeliveryId} changed during its try; this try's answer is not recorded", deliveryId);
            return;
        }
        metrics.WebhookTried(saved);
        logger.LogInformation("Delivery {DeliveryId} ({Type}) to endpoint {EndpointId}: {StatusCode} {Error} -> {Status}",
            deliveryId, saved.Type, endpoint.Id, response.StatusCode, response.Error, saved.Status);
        if (response.StatusCode == StatusCodes.Status410Gone)
        {
            await DisableAsync(endpoint, now, cancellationToken);
        }
        if (saved is { Status: WebhookDeliveryStatus.Pending, NextAttemptAt: { } at })
        {
            queue.Schedule(deliveryId, at);
        }
    }

    /// <summary>The delivery after one try: 2xx delivered; 410 failed; otherwise the next try (after Retry-After where given) or failed.</summary>
    public static StoredDelivery Apply(StoredDelivery delivery, WebhookResponse response, DateTimeOffset startedAt, WebhookOptions options)
    {
        var finishedAt = startedAt + TimeSpan.FromMilliseconds(response.DurationMs);
        var attempt = new WebhookAttempt(startedAt, response.StatusCode, response.DurationMs, response.Error, response.Body);
        var tries = delivery.Tries + 1;
        var delays = options.EffectiveRetryDelays;
        var (status, nextAt) = response.StatusCode switch
        {
            >= 200 and < 300 => (WebhookDeliveryStatus.Delivered, (DateTimeOffset?)null),
            StatusCodes.Status410Gone => (WebhookDeliveryStatus.Failed, null),
            _ when tries > delays.Count => (WebhookDeliveryStatus.Failed, null),
            StatusCodes.Status429TooManyRequests or StatusCodes.Status503ServiceUnavailable when response.RetryAfter is { } wait
                => (WebhookDeliveryStatus.Pending, finishedAt + (wait < options.MaxRetryAfter ? wait : options.MaxRetryAfter)),
            _ => (WebhookDeliveryStatus.Pending, finishedAt + delays[tries - 1]),
        };
        return delivery with
        {
            Status = status,
            NextAttemptAt = nextAt,
            Tries = tries,
            UpdatedAt = finishedAt,
            Attempts = [.. delivery.Attempts, attempt],
        };
    }

    private async Task DisableAsync(StoredEndpoint endpoint, DateTimeOffset now, CancellationToken cancellationToken)
    {
        while (endpoint.Enabled)
        {
            var disabled = endpoint with
            {
                Enabled = false,
                DisabledReason = $"The receiver answered 410 Gone at {now:O}; enable the endpoint again to resume.",
                UpdatedAt = now,
            };
            if (await store.TryUpdateEndpointAsync(disabled, cancellationToken) is not null)
            {
                logger.LogWarning("Webhook endpoint {EndpointId} answered 410 Gone and is disabled", endpoint.Id);
                return;
            }
            if (await store.FindEndpointAsync(endpoint.Id, cancellationToken) is not { } current)
            {
                return;
            }
            endpoint = current;
        }
    }
}
