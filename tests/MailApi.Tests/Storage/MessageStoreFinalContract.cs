using System.Text.Json;
using MailApi.Storage;
using MailApi.Suppressions;

namespace MailApi.Tests.Storage;

public abstract partial class MessageStoreContract
{
    /// <summary>
    /// A final message comes back exactly as it was written, every field of every record it holds: the in-memory store
    /// keeps it as a compressed document, PostgreSQL as jsonb, and neither may lose a field on the way.
    /// </summary>
    [Fact]
    public async Task A_final_message_round_trips_every_field_through_find_list_and_queue_id()
    {
        var store = await StoreAsync();
        var added = await AddAsync(store, Message(NewOwner(), tags: ["welcome", "spring"]) with { SendAt = T0, ContentBytes = 1234 });
        var reply = new StoredReply(250, "2.0.0", "Ok: queued as Q1\nsecond line");
        var accepted = new RecipientState("student@domain.local", RecipientStatus.Bounced, new StoredReply(250, "2.1.5", "Ok"),
            Bounce: new RecipientBounce("failed", "5.1.1", "smtp; 550 5.1.1 unknown", "mx.domain.local", "relay.domain.local", "hard", Guid.NewGuid(), T0.AddMinutes(3)));
        var suppressed = new RecipientState("hidden@domain.local", RecipientStatus.Suppressed, null,
            new RecipientSuppression(SuppressionReason.SoftBounce, T0.AddDays(-1)));
        var final = added with
        {
            Status = MessageStatus.PartiallySent,
            UpdatedAt = T0.AddMinutes(2),
            SentAt = T0.AddMinutes(1),
            Upstream = "relay:25",
            QueueId = "Q1",
            FinalReply = reply,
            PossibleDuplicate = true,
            Recipients = [accepted, suppressed],
            Attempts =
            [
                new DeliveryAttempt
                {
                    Number = 1, StartedAt = T0, FinishedAt = T0.AddSeconds(1), Outcome = MessageStatus.Deferred, Error = "timeout",
                    Upstream = "relay:25", ConnectionId = "c1", ReusedConnection = true, Interrupted = true,
                    Transcript = [new StoredTranscriptEntry("MAIL FROM:<zotrim@domain.local>", null)],
                },
                new DeliveryAttempt
                {
                    Number = 2, StartedAt = T0.AddMinutes(1), FinishedAt = T0.AddMinutes(1).AddSeconds(1), Outcome = MessageStatus.Sent,
                    Upstream = "relay:25", ConnectionId = "c2", FailedOver = true,
                    Transcript = [new StoredTranscriptEntry(null, new StoredReply(220, null, "hi")), new StoredTranscriptEntry(".", reply)],
                },
            ],
            Events =
            [
                new StoredEvent
                {
                    Id = Guid.NewGuid(), Sequence = 1, Type = "message.deferred", Timestamp = T0.AddSeconds(1), Status = MessageStatus.Deferred,
                    Attempt = 1, Upstream = "relay:25", Error = "timeout", NextAttemptAt = T0.AddMinutes(1), Recipients = [accepted],
                },
                new StoredEvent
                {
                    Id = Guid.NewGuid(), Sequence = 2, Type = "message.partially_sent", Timestamp = T0.AddMinutes(2),
                    Status = MessageStatus.PartiallySent, Attempt = 2, Upstream = "relay:25", QueueId = "Q1", Reply = reply,
                    Recipients = [accepted, suppressed], PossibleDuplicate = true,
                },
            ],
        };
        var saved = await store.TryUpdateAsync(final, CancellationToken.None);
        Assert.NotNull(saved);

        var expected = Json(final with { Version = saved.Version });
        Assert.Equal(expected, Json(await store.FindAsync(final.Id, CancellationToken.None)));
        Assert.Equal(expected, Json((await store.ListAsync(new MessageQuery { Owner = final.Owner, Tag = "spring" }, CancellationToken.None)).Items.Single()));
        Assert.Equal(expected, Json((await store.FindByQueueIdAsync("Q1", T0, CancellationToken.None)).Single(m => m.Id == final.Id)));
    }

    private static string Json(StoredMessage? message) => JsonSerializer.Serialize(message, new JsonSerializerOptions { WriteIndented = true });
}
