using MailApi.Delivery.Smtp;
using MailApi.Storage;

namespace MailApi.Tests.Storage;

/// <summary>
/// What every <see cref="IMessageStore"/> must do; run against the in-memory and the PostgreSQL store alike,
/// so both behave the same. Each test uses owners of its own, so the stores may be shared.
/// </summary>
public abstract partial class MessageStoreContract
{
    protected abstract Task<IMessageStore> StoreAsync();

    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);

    private static string NewOwner() => "owner-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>A message as the submit makes it: every content field set, a Bcc recipient beside <paramref name="to"/>.</summary>
    internal static StoredMessage Message(string owner, DateTimeOffset? at = null, MessageStatus status = MessageStatus.Queued,
        string from = "zotrim@domain.local", string[]? to = null, string[]? tags = null)
    {
        var created = at ?? T0;
        var id = Guid.CreateVersion7(created);
        to ??= ["student@domain.local"];
        return new StoredMessage
        {
            Id = id,
            Owner = owner,
            Status = status,
            CreatedAt = created,
            UpdatedAt = created,
            Sender = from,
            MessageId = $"<{id}@domain.local>",
            Content = new MessageContent
            {
                From = $"Zotrim <{from}>",
                To = to,
                Bcc = ["hidden@domain.local"],
                Subject = "Test message",
                Text = "Hello\r\nWorld",
                Html = "<p>Hello</p>",
                Headers = new Dictionary<string, string> { ["X-Campaign"] = "welcome" },
                Attachments = [new AttachmentContent("a.bin", "application/octet-stream", [0, 1, 2, 255], "cid@domain.local")],
                Tags = tags ?? ["welcome"],
                Metadata = new Dictionary<string, string> { ["userId"] = "42" },
            },
            Recipients = [.. to.Append("hidden@domain.local").Select(a => new RecipientState(a, RecipientStatus.Pending, null))],
        };
    }

    private static async Task<StoredMessage> AddAsync(IMessageStore store, StoredMessage message) =>
        (await store.AddAsync([message], null, CancellationToken.None)).Messages.Single();

    [Fact]
    public async Task Add_then_find_round_trips_every_field()
    {
        var store = await StoreAsync();
        var message = Message(NewOwner()) with
        {
            SendAt = T0.AddHours(1),
            FinalReply = new StoredReply(250, "2.0.0", "Ok: queued as 1"),
            Attempts = [new DeliveryAttempt
            {
                Number = 1, StartedAt = T0, FinishedAt = T0.AddSeconds(1), Outcome = MessageStatus.Deferred, Error = "x",
                Upstream = "relay:25", ConnectionId = "c1", FailedOver = true,
                Transcript = [new StoredTranscriptEntry(null, new StoredReply(220, null, "hi\nthere")), new StoredTranscriptEntry(".", null)],
            }],
        };

        var added = await AddAsync(store, message);
        var found = await store.FindAsync(message.Id, CancellationToken.None);

        Assert.Equal(1, added.Version);
        Assert.NotNull(found);
        Assert.Equal(1, found.Version);
        Assert.Equal(message.Owner, found.Owner);
        Assert.Equal(message.SendAt, found.SendAt);
        Assert.Equal(message.Content.Text, found.Content.Text);
        Assert.Equal(message.Content.Bcc, found.Content.Bcc);
        Assert.Equal(message.Content.Headers, found.Content.Headers);
        Assert.Equal(message.Content.Metadata, found.Content.Metadata);
        Assert.Equal(message.Content.Attachments[0].Content, found.Content.Attachments[0].Content);
        Assert.Equal(message.Content.Attachments[0].ContentId, found.Content.Attachments[0].ContentId);
        Assert.Equal(message.Recipients, found.Recipients);
        Assert.Equal(message.FinalReply, found.FinalReply);
        Assert.Equal(message.Attempts[0].Transcript, found.Attempts[0].Transcript);
        Assert.Equal("c1", found.Attempts[0].ConnectionId);
        Assert.True(found.Attempts[0].FailedOver);
        Assert.Null(await store.FindAsync(Guid.NewGuid(), CancellationToken.None));
    }

    [Fact]
    public async Task Update_is_compare_and_set_on_the_version()
    {
        var store = await StoreAsync();
        var added = await AddAsync(store, Message(NewOwner()));

        var first = await store.TryUpdateAsync(added with { Status = MessageStatus.Sending, Worker = "w1" }, CancellationToken.None);
        var stale = await store.TryUpdateAsync(added with { Status = MessageStatus.Canceled }, CancellationToken.None);

        Assert.NotNull(first);
        Assert.Equal(2, first.Version);
        Assert.Null(stale);
        var stored = await store.FindAsync(added.Id, CancellationToken.None);
        Assert.Equal(MessageStatus.Sending, stored!.Status);
        Assert.Equal("w1", stored.Worker);
    }

    [Fact]
    public async Task Of_many_concurrent_updates_from_one_version_exactly_one_wins()
    {
        var store = await StoreAsync();
        var added = await AddAsync(store, Message(NewOwner()));

        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
            Task.Run(() => store.TryUpdateAsync(added with { Worker = $"w{i}", Status = MessageStatus.Sending }, CancellationToken.None))));

        Assert.Single(results, r => r is not null);
    }

    [Fact]
    public async Task An_idempotency_claim_returns_the_earlier_messages_even_when_requests_race()
    {
        var store = await StoreAsync();
        var owner = NewOwner();
        var claim = new IdempotencyClaim(owner, "key-1", "hash-a", DateTimeOffset.UtcNow.AddHours(24));

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            Task.Run(() => store.AddAsync([Message(owner), Message(owner)], claim, CancellationToken.None))));

        var created = Assert.Single(results, r => r.Created);
        Assert.All(results.Where(r => !r.Created), r =>
        {
            Assert.Equal(created.Messages.Select(m => m.Id), r.Messages.Select(m => m.Id));
            Assert.Equal("hash-a", r.ExistingRequestHash);
        });
        var page = await store.ListAsync(new MessageQuery { Owner = owner }, CancellationToken.None);
        Assert.Equal(2, page.Items.Count);

        // The same key from another owner is another claim.
        var other = await store.AddAsync([Message(NewOwner())], claim with { Owner = NewOwner() }, CancellationToken.None);
        Assert.True(other.Created);
    }

    [Fact]
    public async Task An_expired_claim_no_longer_counts()
    {
        var store = await StoreAsync();
        var owner = NewOwner();
        var expired = new IdempotencyClaim(owner, "key-1", "hash-a", DateTimeOffset.UtcNow.AddSeconds(-1));

        Assert.True((await store.AddAsync([Message(owner)], expired, CancellationToken.None)).Created);
        Assert.True((await store.AddAsync([Message(owner)], expired with { ExpiresAt = DateTimeOffset.UtcNow.AddHours(1) }, CancellationToken.None)).Created);
    }

    [Fact]
    public async Task A_batch_is_stored_all_or_none()
    {
        var store = await StoreAsync();
        var owner = NewOwner();
        var existing = await AddAsync(store, Message(owner));

        await Assert.ThrowsAnyAsync<Exception>(() => store.AddAsync([Message(owner), existing], null, CancellationToken.None));

        var page = await store.ListAsync(new MessageQuery { Owner = owner }, CancellationToken.None);
        Assert.Equal([existing.Id], page.Items.Select(m => m.Id));
    }

    [Fact]
    public async Task A_time_range_finds_a_message_whose_id_is_later_than_its_creation_time()
    {
        // After the clock stepped back, MessageOrder.NewId makes an id above the last one, so later than the message's time.
        var store = await StoreAsync();
        var owner = NewOwner();
        var message = Message(owner, T0) with { Id = Guid.CreateVersion7(T0.AddMinutes(30)) };
        await AddAsync(store, message);

        async Task<List<Guid>> Ids(MessageQuery q) => (await store.ListAsync(q, CancellationToken.None)).Items.Select(m => m.Id).ToList();

        Assert.Equal([message.Id], await Ids(new MessageQuery { Owner = owner, CreatedAfter = T0.AddMinutes(-1), CreatedBefore = T0.AddMinutes(1) }));
        Assert.Empty(await Ids(new MessageQuery { Owner = owner, CreatedBefore = T0 }));
        Assert.Empty(await Ids(new MessageQuery { Owner = owner, CreatedAfter = T0 }));
    }

    [Fact]
    public async Task List_is_newest_first_per_owner_with_filters_and_cursor_paging()
    {
        var store = await StoreAsync();
        var owner = NewOwner();
        var messages = new List<StoredMessage>();
        for (var i = 0; i < 7; i++)
        {
            messages.Add(await AddAsync(store, Message(owner, T0.AddMinutes(i),
                from: i % 2 == 0 ? "even@domain.local" : "odd@domain.local",
                to: [i == 3 ? "Special@Domain.local" : "student@domain.local"],
                tags: i < 2 ? ["first"] : ["later"])));
        }
        await AddAsync(store, Message(NewOwner(), T0.AddMinutes(10)));
        var sent = await store.TryUpdateAsync(messages[5] with { Status = MessageStatus.Sent, QueueId = "Q5" }, CancellationToken.None);

        async Task<List<Guid>> Ids(MessageQuery q) => (await store.ListAsync(q, CancellationToken.None)).Items.Select(m => m.Id).ToList();
        List<Guid> Expect(params int[] indexes) => indexes.Select(i => messages[i].Id).ToList();

        Assert.Equal(Expect(6, 5, 4, 3, 2, 1, 0), await Ids(new MessageQuery { Owner = owner }));
        Assert.Equal(Expect(5), await Ids(new MessageQuery { Owner = owner, Status = MessageStatus.Sent }));
        Assert.Equal(Expect(1, 0), await Ids(new MessageQuery { Owner = owner, Tag = "first" }));
        Assert.Equal(Expect(5, 3, 1), await Ids(new MessageQuery { Owner = owner, From = "ODD@domain.local" }));
        Assert.Equal(Expect(3), await Ids(new MessageQuery { Owner = owner, To = "special@domain.local" }));
        Assert.Equal(Expect(6, 5, 4, 3, 2, 1, 0), await Ids(new MessageQuery { Owner = owner, To = "hidden@domain.local" }));
        Assert.Equal(Expect(5), await Ids(new MessageQuery { Owner = owner, QueueId = "Q5" }));
        Assert.Equal(Expect(4, 3), await Ids(new MessageQuery { Owner = owner, CreatedAfter = T0.AddMinutes(2.5), CreatedBefore = T0.AddMinutes(4.5) }));
        Assert.Equal(Expect(6, 5, 4), await Ids(new MessageQuery { Owner = owner, CreatedAfter = T0.AddMinutes(3) }));
        Assert.Equal(Expect(2, 1, 0), await Ids(new MessageQuery { Owner = owner, CreatedBefore = T0.AddMinutes(3) }));

        var first = await store.ListAsync(new MessageQuery { Owner = owner, Limit = 3 }, CancellationToken.None);
        Assert.True(first.HasMore);
        Assert.Equal(Expect(6, 5, 4), first.Items.Select(m => m.Id));
        var second = await store.ListAsync(new MessageQuery { Owner = owner, Limit = 3, Before = first.Items[^1].Id }, CancellationToken.None);
        Assert.Equal(Expect(3, 2, 1), second.Items.Select(m => m.Id));
        var last = await store.ListAsync(new MessageQuery { Owner = owner, Limit = 3, Before = second.Items[^1].Id }, CancellationToken.None);
        Assert.Equal(Expect(0), last.Items.Select(m => m.Id));
        Assert.False(last.HasMore);
        Assert.NotNull(sent);
    }

    [Fact]
    public async Task Backlog_counts_messages_and_content_bytes_and_follows_status_changes()
    {
        var store = await StoreAsync();
        var before = await store.BacklogAsync(CancellationToken.None);
        var a = await AddAsync(store, Message(NewOwner()) with { ContentBytes = 1000 });
        await AddAsync(store, Message(NewOwner(), status: MessageStatus.Scheduled) with { ContentBytes = 234 });
        Assert.Equal(new Backlog(before.Messages + 2, before.Bytes + 1234), await store.BacklogAsync(CancellationToken.None));

        await store.TryUpdateAsync(a with { Status = MessageStatus.Sent }, CancellationToken.None);

        Assert.Equal(new Backlog(before.Messages + 1, before.Bytes + 234), await store.BacklogAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Pending_counts_are_per_unfinished_status_and_follow_status_changes()
    {
        var store = await StoreAsync();
        var before = await store.CountPendingAsync(CancellationToken.None);
        var a = await AddAsync(store, Message(NewOwner()));
        await AddAsync(store, Message(NewOwner(), status: MessageStatus.Scheduled));
        await store.TryUpdateAsync(a with { Status = MessageStatus.Sending }, CancellationToken.None);

        var after = await store.CountPendingAsync(CancellationToken.None);

        Assert.Equal(MessageStatuses.Pending.Order(), after.Keys.Order());
        Assert.Equal(before[MessageStatus.Queued], after[MessageStatus.Queued]);
        Assert.Equal(before[MessageStatus.Sending] + 1, after[MessageStatus.Sending]);
        Assert.Equal(before[MessageStatus.Scheduled] + 1, after[MessageStatus.Scheduled]);
        Assert.Equal(before[MessageStatus.Deferred], after[MessageStatus.Deferred]);
    }

    [Fact]
    public async Task Orphans_are_messages_held_by_silent_instances_or_by_this_one_without_a_job_or_waiting_past_their_time()
    {
        var store = await StoreAsync();
        var now = DateTimeOffset.UtcNow;
        var live = "live-" + Guid.NewGuid().ToString("N");
        var dead = "dead-" + Guid.NewGuid().ToString("N");
        await store.HeartbeatAsync(live, now, CancellationToken.None);
        await store.HeartbeatAsync(dead, now.AddMinutes(-5), CancellationToken.None);
        var owner = NewOwner();
        var heldByLive = await AddAsync(store, Message(owner, now) with { Status = MessageStatus.Sending, Worker = live });
        var heldByDead = await AddAsync(store, Message(owner, now) with { Status = MessageStatus.Sending, Worker = dead });
        var self = "self-" + Guid.NewGuid().ToString("N");
        await store.HeartbeatAsync(self, now, CancellationToken.None);
        var heldBySelfWithJob = await AddAsync(store, Message(owner, now) with { Status = MessageStatus.Sending, Worker = self });
        var heldBySelfWithoutJob = await AddAsync(store, Message(owner, now) with { Status = MessageStatus.Sending, Worker = self });
        var freshQueued = await AddAsync(store, Message(owner, now));
        var lateQueued = await AddAsync(store, Message(owner, now.AddMinutes(-10)));
        var dueDeferred = await AddAsync(store, Message(owner, now.AddMinutes(-10)) with { Status = MessageStatus.Deferred, NextAttemptAt = now.AddMinutes(-5) });
        var laterDeferred = await AddAsync(store, Message(owner, now.AddMinutes(-10)) with { Status = MessageStatus.Deferred, NextAttemptAt = now.AddMinutes(5) });
        var sent = await AddAsync(store, Message(owner, now.AddMinutes(-10)) with { Status = MessageStatus.Sent });

        var orphans = await store.FindOrphansAsync(now.AddSeconds(-30), now.AddSeconds(-30), self, [heldBySelfWithJob.Id], 10_000, CancellationToken.None);

        Assert.Contains(heldByDead.Id, orphans);
        Assert.Contains(heldBySelfWithoutJob.Id, orphans);
        Assert.DoesNotContain(heldBySelfWithJob.Id, orphans);
        Assert.Contains(lateQueued.Id, orphans);
        Assert.Contains(dueDeferred.Id, orphans);
        Assert.DoesNotContain(heldByLive.Id, orphans);
        Assert.DoesNotContain(freshQueued.Id, orphans);
        Assert.DoesNotContain(laterDeferred.Id, orphans);
        Assert.DoesNotContain(sent.Id, orphans);
        var beat = await store.LastHeartbeatAsync(live, CancellationToken.None);
        Assert.NotNull(beat);
        Assert.True((beat.Value - now).Duration() < TimeSpan.FromMilliseconds(1));
        Assert.Null(await store.LastHeartbeatAsync("never-" + Guid.NewGuid(), CancellationToken.None));
    }

    [Fact]
    public async Task Retention_drops_content_first_and_the_summary_later_and_only_of_finished_messages()
    {
        var store = await StoreAsync();
        var now = DateTimeOffset.UtcNow;
        var owner = NewOwner();
        var old = await AddAsync(store, Message(owner, now.AddDays(-40)) with { Status = MessageStatus.Sent, UpdatedAt = now.AddDays(-40) });
        var middle = await AddAsync(store, Message(owner, now.AddDays(-10)) with
        {
            Status = MessageStatus.Failed,
            UpdatedAt = now.AddDays(-10),
            Attempts = [new DeliveryAttempt { Number = 1, StartedAt = now, Outcome = MessageStatus.Failed, Upstream = "r", Transcript = [new StoredTranscriptEntry("QUIT", null)] }],
        });
        var recent = await AddAsync(store, Message(owner, now.AddDays(-1)) with { Status = MessageStatus.Sent, UpdatedAt = now.AddDays(-1) });
        var stillDeferred = await AddAsync(store, Message(owner, now.AddDays(-40)) with { Status = MessageStatus.Deferred, UpdatedAt = now.AddDays(-40) });

        await store.PurgeAsync(now.AddDays(-7), now.AddDays(-30), now, CancellationToken.None);

        Assert.Null(await store.FindAsync(old.Id, CancellationToken.None));
        var purged = await store.FindAsync(middle.Id, CancellationToken.None);
        Assert.NotNull(purged);
        Assert.True(purged.ContentPurged);
        Assert.Null(purged.Content.Text);
        Assert.Null(purged.Content.Html);
        Assert.Empty(purged.Content.Attachments);
        Assert.Empty(purged.Attempts[0].Transcript);
        Assert.Equal("Test message", purged.Content.Subject);
        Assert.Equal(MessageStatus.Failed, purged.Status);
        Assert.Equal("Hello\r\nWorld", (await store.FindAsync(recent.Id, CancellationToken.None))!.Content.Text);
        Assert.NotNull(await store.FindAsync(stillDeferred.Id, CancellationToken.None));
    }
}

public sealed class InMemoryMessageStoreTests : MessageStoreContract
{
    protected override Task<IMessageStore> StoreAsync() => Task.FromResult<IMessageStore>(new InMemoryMessageStore());
}

[Trait("Category", "PostgreSql")]
public sealed class PostgreSqlMessageStoreTests : MessageStoreContract
{
    private static readonly Lazy<Task<IMessageStore>> Shared = new(async () =>
    {
        return new PostgreSqlMessageStore(await MailApi.Tests.Infrastructure.MigratedDatabase.CreateAsync());
    });

    protected override Task<IMessageStore> StoreAsync()
    {
        if (MailApi.Testing.Postgres.ServerConnectionString is null)
        {
            Assert.Skip(MailApi.Testing.Postgres.HowToGet);
        }
        return Shared.Value;
    }
}
