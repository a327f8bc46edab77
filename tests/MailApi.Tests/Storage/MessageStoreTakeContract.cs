using MailApi.Storage;

namespace MailApi.Tests.Storage;

/// <summary>What every store must do when a delivery job takes its queued messages in one write.</summary>
public abstract partial class MessageStoreContract
{
    [Fact]
    public async Task Taking_queued_messages_takes_only_the_queued_ones_as_a_compare_and_set_would()
    {
        var store = await StoreAsync();
        var owner = NewOwner();
        var a = await AddAsync(store, Message(owner));
        var b = await AddAsync(store, Message(owner));
        var scheduled = await AddAsync(store, Message(owner, status: MessageStatus.Scheduled) with { SendAt = T0.AddHours(1) });
        var canceled = await AddAsync(store, Message(owner, status: MessageStatus.Canceled));
        var at = T0.AddMinutes(5);

        var taken = await store.TakeQueuedAsync([a.Id, b.Id, scheduled.Id, canceled.Id, Guid.NewGuid()], "w1", at, CancellationToken.None);

        Assert.Equal(new[] { a.Id, b.Id }.Order(), taken.Select(m => m.Id).Order());
        foreach (var message in taken)
        {
            var expected = (message.Id == a.Id ? a : b).TakenBy("w1", at);
            var stored = await store.FindAsync(message.Id, CancellationToken.None);
            foreach (var copy in (StoredMessage[])[message, stored!])
            {
                Assert.Equal(2, copy.Version);
                Assert.Equal(MessageStatus.Sending, copy.Status);
                Assert.Equal("w1", copy.Worker);
                Assert.Equal(at, copy.UpdatedAt);
                Assert.Null(copy.NextAttemptAt);
                Assert.Equal(expected.CreatedAt, copy.CreatedAt);
                Assert.Equal(expected.Content.Text, copy.Content.Text);
                Assert.Equal(expected.Recipients, copy.Recipients);
            }
        }
        Assert.Equal(1, (await store.FindAsync(scheduled.Id, CancellationToken.None))!.Version);
        Assert.Equal(MessageStatus.Canceled, (await store.FindAsync(canceled.Id, CancellationToken.None))!.Status);
        // The copy taken is the compare-and-set token for the outcome, and what is taken is not taken again.
        Assert.NotNull(await store.TryUpdateAsync(taken[0] with { Status = MessageStatus.Sent }, CancellationToken.None));
        Assert.Empty(await store.TakeQueuedAsync([a.Id, b.Id], "w2", at, CancellationToken.None));
    }

    [Fact]
    public async Task Of_workers_taking_the_same_messages_at_once_each_message_goes_to_exactly_one()
    {
        var store = await StoreAsync();
        var owner = NewOwner();
        var ids = new List<Guid>();
        for (var i = 0; i < 20; i++)
        {
            ids.Add((await AddAsync(store, Message(owner))).Id);
        }

        var takes = await Task.WhenAll(Enumerable.Range(0, 8).Select(w =>
            Task.Run(() => store.TakeQueuedAsync(ids, $"w{w}", T0, CancellationToken.None))));

        Assert.Equal(ids.Order(), takes.SelectMany(t => t).Select(m => m.Id).Order());
        foreach (var (take, w) in takes.Select((t, w) => (t, w)))
        {
            Assert.All(take, m => Assert.Equal($"w{w}", m.Worker));
        }
    }
}
