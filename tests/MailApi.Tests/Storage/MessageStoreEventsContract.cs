using MailApi.Storage;
using MailApi.Webhooks.Events;

namespace MailApi.Tests.Storage;

/// <summary>Events are part of the message document: every store keeps them through updates and retention.</summary>
public abstract partial class MessageStoreContract
{
    [Fact]
    public async Task Events_are_kept_in_the_message_through_updates_and_content_retention()
    {
        var store = await StoreAsync();
        var scheduled = MessageEvents.WithEvent(Message(NewOwner(), status: MessageStatus.Scheduled));
        var added = await AddAsync(store, scheduled);
        var canceled = await store.TryUpdateAsync(
            MessageEvents.WithEvent(added with { Status = MessageStatus.Canceled, UpdatedAt = T0.AddMinutes(1) }), CancellationToken.None);
        await store.PurgeAsync(T0.AddDays(1), T0.AddDays(-1), T0.AddDays(1), CancellationToken.None);

        var found = (await store.FindAsync(added.Id, CancellationToken.None))!;

        Assert.NotNull(canceled);
        Assert.True(found.ContentPurged);
        Assert.Equal(["message.scheduled", "message.canceled"], found.Events.Select(e => e.Type));
        Assert.Equal([1, 2], found.Events.Select(e => e.Sequence));
        Assert.Equal(T0.AddMinutes(1), found.Events[1].Timestamp);
        Assert.Equal(MessageStatus.Canceled, found.Events[1].Status);
        Assert.Equal(found.Recipients.Count, found.Events[0].Recipients.Count);
    }
}
