using System.Collections.Concurrent;
using System.Text.Json;
using Hangfire;
using MailApi.Http;
using MailApi.Storage;
using MailApi.Webhooks.Events;

namespace MailApi.Webhooks;

/// <summary>
/// Turns stored events into deliveries, one per (endpoint, event), and queues them. Safe to run twice: a delivery that
/// exists is not created again, so a repeated dispatch queues nothing new.
/// </summary>
public sealed class WebhookDispatcher(IWebhookStore webhooks, IMessageStore messages, IWebhookQueue queue, WebhookDeliveryJob deliveries,
    TimeProvider clock, ILogger<WebhookDispatcher> logger)
{
    /// <summary>The Hangfire job: every event of the message to every enabled endpoint of its owner that subscribed to it.</summary>
    /// <remarks>Hangfire retries it (a storage outage): the store is the source of truth, so a rerun only fills gaps.</remarks>
    [AutomaticRetry(Attempts = 10)]
    public Task DispatchAsync(Guid messageId, CancellationToken cancellationToken) =>
        DispatchOneAsync(messageId, owner => webhooks.ListEndpointsAsync(owner, cancellationToken), cancellationToken);

    /// <summary>
    /// Several messages' events (dispatches asked for at the same moment, <see cref="HangfireWebhookQueue"/>), side by side:
    /// one message's slow endpoint does not hold the others' first tries back, and each owner's endpoints are read once for
    /// them all. One that fails fails the job, which Hangfire runs again; a rerun only fills gaps.
    /// </summary>
    [AutomaticRetry(Attempts = 10)]
    public Task DispatchManyAsync(Guid[] messageIds, CancellationToken cancellationToken)
    {
        var endpoints = new ConcurrentDictionary<string, Task<IReadOnlyList<StoredEndpoint>>>();
        return Task.WhenAll(messageIds.Distinct().Select(id =>
            DispatchOneAsync(id, owner => endpoints.GetOrAdd(owner, o => webhooks.ListEndpointsAsync(o, cancellationToken)), cancellationToken)));
    }

    private async Task DispatchOneAsync(Guid messageId, Func<string, Task<IReadOnlyList<StoredEndpoint>>> endpointsOf, CancellationToken cancellationToken)
    {
        if (await messages.FindAsync(messageId, cancellationToken) is not { Events.Count: > 0 } message)
        {
            return;
        }
        var all = await endpointsOf(message.Owner);
        var endpoints = all.Where(e => e.Enabled).ToDictionary(e => e.Id);
        var now = clock.GetUtcNow();
        // The first try of each runs here rather than in a job of its own (on PostgreSQL a job costs about 20 statements),
        // so each is stored already held for that try: it needs no claim, and no other run takes it meanwhile.
        var heldUntil = deliveries.HeldUntil(now);
        var wanted = (
            from e in message.Events
            from endpoint in endpoints.Values
                // An endpoint gets the events that happened after it was created, not a message's whole past.
            where endpoint.Events.Contains(e.Type) && e.Timestamp >= endpoint.CreatedAt
            select NewDelivery(endpoint, e.Id, message.Id, e.Type, EventPayload.Body(message, e), now, heldUntil)).ToList();
        var added = await webhooks.AddDeliveriesAsync(wanted, cancellationToken);
        if (all.Count > 0)
        {
            // After the deliveries exist: a crash before this line leaves the message to the sweep, which dispatches again.
            await webhooks.MarkDispatchedAsync(message.Id, message.Events.Count, cancellationToken);
        }
        // A try that cannot run here is tried by its own job when its hold ends; one lost to a crash is pending past its
        // time then, which the webhook sweep queues again.
        foreach (var delivery in added)
        {
            logger.LogDebug("Delivery {DeliveryId}: {Type} of message {MessageId} to endpoint {EndpointId}",
                delivery.Id, delivery.Type, messageId, delivery.EndpointId);
            try
            {
                await deliveries.FirstTryAsync(delivery, endpoints[delivery.EndpointId], cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning("The first try of delivery {DeliveryId} failed to run here ({Error}); its job tries it at {At}",
                    delivery.Id, ex.Message, heldUntil);
                queue.Schedule(delivery.Id, heldUntil);
            }
        }
    }

    /// <summary>
    /// An event that belongs to no message (<c>suppression.created</c>, <c>suppression.deleted</c>), to every enabled
    /// endpoint of <paramref name="owner"/> that subscribed to its type: a delivery each, stored, then queued.
    /// </summary>
    public async Task PublishAsync(string owner, string type, object data, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var endpoints = (await webhooks.ListEndpointsAsync(owner, cancellationToken)).Where(e => e.Enabled && e.Events.Contains(type)).ToList();
        if (endpoints.Count == 0)
        {
            return;
        }
        var body = JsonSerializer.Serialize(new EventBody(type, now, data), ApiJson.Options);
        var eventId = Guid.CreateVersion7(now);
        foreach (var delivery in await webhooks.AddDeliveriesAsync(endpoints.ConvertAll(e => NewDelivery(e, eventId, null, type, body, now, now)), cancellationToken))
        {
            queue.Enqueue(delivery.Id);
        }
    }

    /// <summary>A <c>webhook.test</c> event for one endpoint, sent whatever its filter says.</summary>
    public async Task<StoredDelivery> SendTestAsync(StoredEndpoint endpoint, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var body = JsonSerializer.Serialize(new EventBody(MessageEvents.Test, now, new { webhookId = endpoint.Id, description = endpoint.Description }),
            ApiJson.Options);
        var delivery = NewDelivery(endpoint, Guid.CreateVersion7(now), null, MessageEvents.Test, body, now, now);
        var added = (await webhooks.AddDeliveriesAsync([delivery], cancellationToken)).Single();
        queue.Enqueue(added.Id);
        return added;
    }

    /// <summary>Sends a delivery again now, whatever became of it, with the same id (the receiver's <c>webhook-id</c>).</summary>
    public async Task<StoredDelivery> RetryAsync(StoredDelivery delivery, CancellationToken cancellationToken)
    {
        while (true)
        {
            var now = clock.GetUtcNow();
            // The retry schedule starts again: a manual retry is a fresh start, not the next step of the old one.
            if (await webhooks.TryUpdateDeliveryAsync(
                delivery with { Status = WebhookDeliveryStatus.Pending, NextAttemptAt = now, Tries = 0, UpdatedAt = now }, cancellationToken) is { } retried)
            {
                queue.Enqueue(retried.Id);
                return retried;
            }
            delivery = await webhooks.FindDeliveryAsync(delivery.Id, cancellationToken)
                ?? throw new InvalidOperationException($"Delivery {delivery.Id} was deleted with its endpoint.");
        }
    }

    private static StoredDelivery NewDelivery(StoredEndpoint endpoint, Guid eventId, Guid? messageId, string type, string body, DateTimeOffset now,
        DateTimeOffset nextAttemptAt) => new()
        {
            Id = Guid.CreateVersion7(now),
            EndpointId = endpoint.Id,
            Owner = endpoint.Owner,
            EventId = eventId,
            MessageId = messageId,
            Type = type,
            Body = body,
            Status = WebhookDeliveryStatus.Pending,
            NextAttemptAt = nextAttemptAt,
            CreatedAt = now,
            UpdatedAt = now,
        };
}
