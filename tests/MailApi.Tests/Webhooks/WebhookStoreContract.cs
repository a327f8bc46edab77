using MailApi.Storage;
using MailApi.Webhooks;
using MailApi.Webhooks.Events;

namespace MailApi.Tests.Webhooks;

/// <summary>What every <see cref="IWebhookStore"/> must do, run against the in-memory and the PostgreSQL store alike.</summary>
public abstract class WebhookStoreContract
{
    protected abstract Task<(IMessageStore Messages, IWebhookStore Webhooks)> StoresAsync();

    protected static readonly DateTimeOffset T0 = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);

    protected static StoredEndpoint Endpoint(string? owner = null) => new()
    {
        Id = Guid.CreateVersion7(),
        Owner = owner ?? "owner-" + Guid.NewGuid().ToString("N")[..8],
        Url = "https://receiver.example/hook",
        Events = MessageEvents.All,
        Secret = WebhookSecret.New(),
        CreatedAt = T0,
        UpdatedAt = T0,
    };

    internal static StoredDelivery Delivery(StoredEndpoint endpoint, Guid? eventId = null, DateTimeOffset? at = null) => new()
    {
        Id = Guid.CreateVersion7(at ?? T0),
        EndpointId = endpoint.Id,
        Owner = endpoint.Owner,
        EventId = eventId ?? Guid.CreateVersion7(),
        Type = MessageEvents.Sent,
        Body = """{"type":"message.sent"}""",
        Status = WebhookDeliveryStatus.Pending,
        NextAttemptAt = at ?? T0,
        CreatedAt = at ?? T0,
        UpdatedAt = at ?? T0,
    };

    [Fact]
    public async Task Endpoints_round_trip_and_update_by_compare_and_set_per_owner()
    {
        var (_, store) = await StoresAsync();
        var endpoint = Endpoint() with { Description = "orders", Events = [MessageEvents.Failed] };
        await store.AddEndpointAsync(endpoint, CancellationToken.None);
        await store.AddEndpointAsync(Endpoint(), CancellationToken.None);

        var found = (await store.FindEndpointAsync(endpoint.Id, CancellationToken.None))!;
        var updated = await store.TryUpdateEndpointAsync(found with { Enabled = false, DisabledReason = "410" }, CancellationToken.None);
        var stale = await store.TryUpdateEndpointAsync(found with { Url = "https://other.example/" }, CancellationToken.None);

        Assert.Equal(1, found.Version);
        Assert.Equal(endpoint.Secret, found.Secret);
        Assert.Equal([MessageEvents.Failed], found.Events);
        Assert.Equal("orders", found.Description);
        Assert.NotNull(updated);
        Assert.Equal(2, updated.Version);
        Assert.Null(stale);
        var listed = Assert.Single(await store.ListEndpointsAsync(endpoint.Owner, CancellationToken.None));
        Assert.False(listed.Enabled);
        Assert.Equal("410", listed.DisabledReason);
    }

    [Fact]
    public async Task Pending_deliveries_are_counted_until_they_are_delivered()
    {
        var (_, store) = await StoresAsync();
        var endpoint = Endpoint();
        await store.AddEndpointAsync(endpoint, CancellationToken.None);
        var before = await store.CountPendingDeliveriesAsync(CancellationToken.None);
        var added = await store.AddDeliveriesAsync([Delivery(endpoint), Delivery(endpoint)], CancellationToken.None);
        Assert.Equal(before + 2, await store.CountPendingDeliveriesAsync(CancellationToken.None));

        await store.TryUpdateDeliveryAsync(added[0] with { Status = WebhookDeliveryStatus.Delivered, NextAttemptAt = null }, CancellationToken.None);

        Assert.Equal(before + 1, await store.CountPendingDeliveriesAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_delivery_is_stored_once_per_endpoint_and_event_and_goes_with_its_endpoint()
    {
        var (_, store) = await StoresAsync();
        var endpoint = Endpoint();
        await store.AddEndpointAsync(endpoint, CancellationToken.None);
        var eventId = Guid.CreateVersion7();

        var first = await store.AddDeliveriesAsync([Delivery(endpoint, eventId)], CancellationToken.None);
        var again = await store.AddDeliveriesAsync([Delivery(endpoint, eventId), Delivery(endpoint)], CancellationToken.None);
        var orphan = await store.AddDeliveriesAsync([Delivery(Endpoint())], CancellationToken.None);

        Assert.Single(first);
        Assert.Single(again);
        Assert.Empty(orphan);
        var saved = await store.TryUpdateDeliveryAsync(first[0] with
        {
            Status = WebhookDeliveryStatus.Delivered,
            NextAttemptAt = null,
            Attempts = [new WebhookAttempt(T0, 200, 12, null, "ok")]
        }, CancellationToken.None);
        Assert.NotNull(saved);
        Assert.Null(await store.TryUpdateDeliveryAsync(first[0], CancellationToken.None));
        var found = (await store.FindDeliveryAsync(first[0].Id, CancellationToken.None))!;
        Assert.Equal(WebhookDeliveryStatus.Delivered, found.Status);
        Assert.Equal("ok", found.Attempts.Single().ResponseBody);

        Assert.True(await store.DeleteEndpointAsync(endpoint.Id, CancellationToken.None));
        Assert.Null(await store.FindDeliveryAsync(first[0].Id, CancellationToken.None));
        Assert.False(await store.DeleteEndpointAsync(endpoint.Id, CancellationToken.None));
    }

    [Fact]
    public async Task Deliveries_list_newest_first_by_status_with_a_cursor_and_due_ones_are_found()
    {
        var (_, store) = await StoresAsync();
        var endpoint = Endpoint();
        await store.AddEndpointAsync(endpoint, CancellationToken.None);
        var added = await store.AddDeliveriesAsync([.. Enumerable.Range(0, 5).Select(i => Delivery(endpoint, at: T0.AddSeconds(i)))], CancellationToken.None);
        var done = await store.TryUpdateDeliveryAsync(added[1] with { Status = WebhookDeliveryStatus.Failed, NextAttemptAt = null }, CancellationToken.None);

        var page = await store.ListDeliveriesAsync(endpoint.Id, null, null, 2, CancellationToken.None);
        var next = await store.ListDeliveriesAsync(endpoint.Id, null, page[^1].Id, 10, CancellationToken.None);
        var failed = await store.ListDeliveriesAsync(endpoint.Id, WebhookDeliveryStatus.Failed, null, 10, CancellationToken.None);
        var due = await store.FindDueDeliveriesAsync(T0.AddSeconds(2.5), 100, CancellationToken.None);

        Assert.Equal([added[4].Id, added[3].Id], page.Select(d => d.Id));
        Assert.Equal([added[2].Id, added[1].Id, added[0].Id], next.Select(d => d.Id));
        Assert.Equal(done!.Id, Assert.Single(failed).Id);
        Assert.Contains(added[0].Id, due);
        Assert.Contains(added[2].Id, due);
        Assert.DoesNotContain(added[1].Id, due);
        Assert.DoesNotContain(added[3].Id, due);
    }

    [Fact]
    public async Task A_messages_deliveries_are_found_across_endpoints_oldest_first()
    {
        var (_, store) = await StoresAsync();
        var (one, two) = (Endpoint(), Endpoint());
        await store.AddEndpointAsync(one, CancellationToken.None);
        await store.AddEndpointAsync(two, CancellationToken.None);
        var (message, other) = (Guid.CreateVersion7(), Guid.CreateVersion7());
        var added = await store.AddDeliveriesAsync([
            Delivery(one, at: T0) with { MessageId = message },
            Delivery(two, at: T0.AddSeconds(1)) with { MessageId = message },
            Delivery(one, at: T0.AddSeconds(2)) with { MessageId = other },
            Delivery(two, at: T0.AddSeconds(3)),
            Delivery(one, at: T0.AddSeconds(4)) with { MessageId = message },
        ], CancellationToken.None);

        var found = await store.ListMessageDeliveriesAsync(message, 10, CancellationToken.None);
        var first = await store.ListMessageDeliveriesAsync(message, 2, CancellationToken.None);

        Assert.Equal([added[0].Id, added[1].Id, added[4].Id], found.Select(d => d.Id));
        Assert.Equal([one.Id, two.Id, one.Id], found.Select(d => d.EndpointId));
        Assert.Equal([added[0].Id, added[1].Id], first.Select(d => d.Id));
        Assert.Empty(await store.ListMessageDeliveriesAsync(Guid.CreateVersion7(), 10, CancellationToken.None));
    }

    [Fact]
    public async Task Retention_deletes_finished_deliveries_created_before_the_time_and_keeps_pending_ones()
    {
        var (_, store) = await StoresAsync();
        var endpoint = Endpoint();
        await store.AddEndpointAsync(endpoint, CancellationToken.None);
        var old = T0.AddDays(-40);
        var added = await store.AddDeliveriesAsync([Delivery(endpoint, at: old), Delivery(endpoint, at: old), Delivery(endpoint, at: T0)], CancellationToken.None);
        await store.TryUpdateDeliveryAsync(added[0] with { Status = WebhookDeliveryStatus.Delivered }, CancellationToken.None);
        await store.TryUpdateDeliveryAsync(added[2] with { Status = WebhookDeliveryStatus.Failed }, CancellationToken.None);

        await store.PurgeDeliveriesAsync(T0.AddDays(-30), CancellationToken.None);

        Assert.Null(await store.FindDeliveryAsync(added[0].Id, CancellationToken.None));
        Assert.NotNull(await store.FindDeliveryAsync(added[1].Id, CancellationToken.None));
        Assert.NotNull(await store.FindDeliveryAsync(added[2].Id, CancellationToken.None));
    }
}

public sealed class InMemoryWebhookStoreTests : WebhookStoreContract
{
    protected override Task<(IMessageStore Messages, IWebhookStore Webhooks)> StoresAsync() =>
        Task.FromResult<(IMessageStore, IWebhookStore)>((new InMemoryMessageStore(), new InMemoryWebhookStore()));
}

[Trait("Category", "PostgreSql")]
public sealed class PostgreSqlWebhookStoreTests : WebhookStoreContract
{
    private static readonly Lazy<Task<(IMessageStore, IWebhookStore)>> Shared = new(async () =>
    {
        var database = await MailApi.Tests.Infrastructure.MigratedDatabase.CreateAsync();
        return ((IMessageStore)new PostgreSqlMessageStore(database), (IWebhookStore)new PostgreSqlWebhookStore(database));
    });

    protected override Task<(IMessageStore Messages, IWebhookStore Webhooks)> StoresAsync()
    {
        if (Postgres.ServerConnectionString is null)
        {
            Assert.Skip(Postgres.HowToGet);
        }
        return Shared.Value;
    }

    [Fact]
    public async Task Writes_of_deliveries_leave_the_pooled_connections_commit_setting_as_it_was()
    {
        if (Postgres.ServerConnectionString is null)
        {
            Assert.Skip(Postgres.HowToGet);
        }
        // One pooled connection, whose session commits with remote_write: the store's own setting for its writes of
        // deliveries (synchronous_commit off) must end with their transaction, or every message written next on this
        // connection would be committed without waiting for the disk either.
        using var database = await MailApi.Tests.Infrastructure.MigratedDatabase.CreateAsync(o =>
        {
            o.ConnectionString += ";Options=-c synchronous_commit=remote_write";
            o.MaxConnections = 2;
        });
        var store = new PostgreSqlWebhookStore(database);
        var endpoint = Endpoint();
        await store.AddEndpointAsync(endpoint, CancellationToken.None);

        var added = await store.AddDeliveriesAsync([Delivery(endpoint)], CancellationToken.None);
        var done = await store.TryUpdateDeliveryAsync(added[0] with { Status = WebhookDeliveryStatus.Delivered, NextAttemptAt = null }, CancellationToken.None);

        Assert.NotNull(done);
        await using var command = database.DataSource.CreateCommand("select current_setting('synchronous_commit')");
        Assert.Equal("remote_write", await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Messages_with_events_beyond_the_dispatched_mark_are_found_for_owners_with_endpoints()
    {
        var (messages, store) = await StoresAsync();
        var endpoint = Endpoint();
        await store.AddEndpointAsync(endpoint, CancellationToken.None);
        var now = DateTimeOffset.UtcNow;
        StoredMessage Scheduled(string owner)
        {
            var id = Guid.CreateVersion7(now);
            return MessageEvents.WithEvent(new StoredMessage
            {
                Id = id,
                Owner = owner,
                Status = MessageStatus.Scheduled,
                CreatedAt = now,
                UpdatedAt = now,
                SendAt = now.AddHours(1),
                Sender = "a@domain.local",
                MessageId = $"<{id}@domain.local>",
                Content = new MessageContent { From = "a@domain.local", To = ["b@domain.local"], Subject = "s" },
                Recipients = [new RecipientState("b@domain.local", RecipientStatus.Pending, null)],
            });
        }
        var mine = Scheduled(endpoint.Owner);
        var marked = Scheduled(endpoint.Owner);
        var nobodys = Scheduled("owner-without-endpoints");
        await messages.AddAsync([mine, marked, nobodys], null, CancellationToken.None);
        await store.MarkDispatchedAsync(marked.Id, 1, CancellationToken.None);

        var found = await store.FindUndispatchedAsync(now.AddMinutes(-1), now.AddMinutes(1), 100, CancellationToken.None);

        Assert.Contains(mine.Id, found);
        Assert.DoesNotContain(marked.Id, found);
        Assert.DoesNotContain(nobodys.Id, found);
    }
}
