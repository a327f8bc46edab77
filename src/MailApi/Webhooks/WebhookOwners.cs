namespace MailApi.Webhooks;

/// <summary>
/// Which API keys have webhook endpoints, so that a status change of a key without any queues no dispatch job (most
/// keys). Reloaded from the store every second; an endpoint created here
/// counts at once. One created on another instance counts there within the second, and an event that instance recorded
/// meanwhile is found by the sweep of undispatched events (<see cref="WebhookSweeper"/>).
/// </summary>
public sealed class WebhookOwners
{
    private readonly HashSet<string> _addedHere = [];
    private readonly Lock _gate = new();

    /// <summary>Null until the first load: until then every owner may have endpoints.</summary>
    private volatile IReadOnlySet<string>? _loaded;

    public bool MayHaveEndpoints(string owner)
    {
        if (_loaded is not { } loaded || loaded.Contains(owner))
        {
            return true;
        }
        lock (_gate)
        {
            return _addedHere.Contains(owner);
        }
    }

    /// <summary>An endpoint was created here; kept apart from the loads, so a load that started before it cannot hide it.</summary>
    public void Added(string owner)
    {
        lock (_gate)
        {
            _addedHere.Add(owner);
        }
    }

    public void Loaded(IReadOnlySet<string> owners) => _loaded = owners;
}

/// <summary>Reloads <see cref="WebhookOwners"/> every second.</summary>
public sealed class WebhookOwnersRefresh(IWebhookStore store, WebhookOwners owners, TimeProvider clock, ILogger<WebhookOwnersRefresh> logger)
    : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                owners.Loaded(await store.OwnersAsync(stoppingToken));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The last load stays: what an outage hides meanwhile, the sweep of undispatched events recovers.
                logger.LogWarning("Reloading the owners of webhook endpoints failed ({Error}); trying again", ex.Message);
            }
            try
            {
                await Task.Delay(Interval, clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
