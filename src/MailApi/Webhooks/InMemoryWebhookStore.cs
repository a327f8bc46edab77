namespace MailApi.Webhooks;

/// <summary>The embedded webhook store: gone when the process stops, like the in-memory message store.</summary>
public sealed class InMemoryWebhookStore : IWebhookStore
{
    private readonly Dictionary<Guid, StoredEndpoint> _endpoints = [];
    private readonly Dictionary<Guid, StoredDelivery> _deliveries = [];
    private readonly HashSet<(Guid Endpoint, Guid Event)> _dispatched = [];
    private readonly Lock _gate = new();

    public Task AddEndpointAsync(StoredEndpoint endpoint, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _endpoints.Add(endpoint.Id, endpoint with { Version = 1 });
        }
        return Task.CompletedTask;
    }

    public Task<StoredEndpoint?> FindEndpointAsync(Guid id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_endpoints.GetValueOrDefault(id));
        }
    }

    public Task<IReadOnlyList<StoredEndpoint>> ListEndpointsAsync(string owner, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            IReadOnlyList<StoredEndpoint> list = [.. _endpoints.Values.Where(e => e.Owner == owner).OrderBy(e => e.Id)];
            return Task.FromResult(list);
        }
    }

    public Task<IReadOnlySet<string>> OwnersAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlySet<string>>(_endpoints.Values.Select(e => e.Owner).ToHashSet());
        }
    }

    public Task<StoredEndpoint?> TryUpdateEndpointAsync(StoredEndpoint updated, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_endpoints.TryGetValue(updated.Id, out var current) || current.Version != updated.Version)
            {
                return Task.FromResult<StoredEndpoint?>(null);
            }
            var next = updated with { Version = updated.Version + 1 };
            _endpoints[updated.Id] = next;
            return Task.FromResult<StoredEndpoint?>(next);
        }
    }

    public Task<bool> DeleteEndpointAsync(Guid id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            foreach (var delivery in _deliveries.Values.Where(d => d.EndpointId == id).ToList())
            {
                _deliveries.Remove(delivery.Id);
            }
            return Task.FromResult(_endpoints.Remove(id));
        }
    }

    public Task<IReadOnlyList<StoredDelivery>> AddDeliveriesAsync(IReadOnlyList<StoredDelivery> deliveries, CancellationToken cancellationToken)
    {
        var added = new List<StoredDelivery>();
        lock (_gate)
        {
            foreach (var delivery in deliveries)
            {
                if (_endpoints.ContainsKey(delivery.EndpointId) && _dispatched.Add((delivery.EndpointId, delivery.EventId)))
                {
                    var stored = delivery with { Version = 1 };
                    _deliveries.Add(stored.Id, stored);
                    added.Add(stored);
                }
            }
        }
        return Task.FromResult<IReadOnlyList<StoredDelivery>>(added);
    }

    public Task<StoredDelivery?> FindDeliveryAsync(Guid id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_deliveries.GetValueOrDefault(id));
        }
    }

    public Task<StoredDelivery?> TryUpdateDeliveryAsync(StoredDelivery updated, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_deliveries.TryGetValue(updated.Id, out var current) || current.Version != updated.Version)
            {
                return Task.FromResult<StoredDelivery?>(null);
            }
            var next = updated with { Version = updated.Version + 1 };
            _deliveries[updated.Id] = next;
            return Task.FromResult<StoredDelivery?>(next);
        }
    }

    public Task<IReadOnlyList<StoredDelivery>> ListDeliveriesAsync(Guid endpointId, WebhookDeliveryStatus? status, Guid? before, int limit,
        CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            IReadOnlyList<StoredDelivery> page = [.. _deliveries.Values
                .Where(d => d.EndpointId == endpointId && (status is null || d.Status == status)
                    && (before is null || d.Id.CompareTo(before.Value) < 0))
                .OrderByDescending(d => d.Id)
                .Take(limit)];
            return Task.FromResult(page);
        }
    }

    public Task<long> CountPendingDeliveriesAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult((long)_deliveries.Values.Count(d => d.Status == WebhookDeliveryStatus.Pending));
        }
    }

    public Task<IReadOnlyList<StoredDelivery>> ListMessageDeliveriesAsync(Guid messageId, int limit, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            IReadOnlyList<StoredDelivery> deliveries = [.. _deliveries.Values
                .Where(d => d.MessageId == messageId)
                .OrderBy(d => d.Id)
                .Take(limit)];
            return Task.FromResult(deliveries);
        }
    }

    public Task<IReadOnlyList<Guid>> FindDueDeliveriesAsync(DateTimeOffset dueBefore, int limit, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            IReadOnlyList<Guid> due = [.. _deliveries.Values
                .Where(d => d.Status == WebhookDeliveryStatus.Pending && d.NextAttemptAt < dueBefore)
                .Select(d => d.Id)
                .Take(limit)];
            return Task.FromResult(due);
        }
    }

    /// <remarks>In memory a dispatch job is lost only with the process, and the messages with it: nothing to keep.</remarks>
    public Task MarkDispatchedAsync(Guid messageId, int sequence, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<IReadOnlyList<Guid>> FindUndispatchedAsync(DateTimeOffset updatedAfter, DateTimeOffset updatedBefore, int limit,
        CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<Guid>>([]);

    public Task<int> PurgeDeliveriesAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var old = _deliveries.Values.Where(d => d.Status != WebhookDeliveryStatus.Pending && d.CreatedAt < createdBefore).ToList();
            foreach (var delivery in old)
            {
                _deliveries.Remove(delivery.Id);
            }
            return Task.FromResult(old.Count);
        }
    }
}
