using System.Text;
using System.Text.Json.Nodes;
using MailApi.Storage;
using MailApi.Webhooks.Events;

namespace MailApi.Tests.Webhooks;

/// <summary>Which write is which event (<see cref="MessageEvents"/>), and the bound on a webhook body.</summary>
public sealed class MessageEventsRulesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);

    private static StoredMessage Message(MessageStatus status, int recipients = 1) => new()
    {
        Id = Guid.CreateVersion7(T0),
        Owner = "alpha",
        Status = status,
        CreatedAt = T0,
        UpdatedAt = T0,
        Sender = "a@domain.local",
        MessageId = "<m@domain.local>",
        Content = new MessageContent { From = "a@domain.local", To = [.. Enumerable.Range(0, recipients).Select(i => $"r{i}@domain.local")], Subject = "s" },
        Recipients = [.. Enumerable.Range(0, recipients).Select(i => new RecipientState(
            $"recipient-with-a-long-local-part-{i}@a-rather-long-domain-name.domain.local", RecipientStatus.Deferred,
            new StoredReply(451, "4.3.0", "Requested action aborted: local error in processing, please try again later")))],
    };

    private static DeliveryAttempt Attempt(int number) => new()
    {
        Number = number,
        StartedAt = T0,
        Outcome = MessageStatus.Deferred,
        Upstream = "relay:25",
        Transcript = [new StoredTranscriptEntry("RCPT TO:<r0@domain.local>", new StoredReply(451, "4.3.0", "later"))],
    };

    [Fact]
    public void A_message_queued_at_once_has_no_event_until_it_ends_and_each_deferral_is_one()
    {
        var queued = MessageEvents.WithEvent(Message(MessageStatus.Queued));
        var sending = MessageEvents.WithEvent(queued with { Status = MessageStatus.Sending });
        var deferred = MessageEvents.WithEvent(sending with { Status = MessageStatus.Deferred, Attempts = [Attempt(1)] });
        var rewritten = MessageEvents.WithEvent(deferred);
        var retrying = MessageEvents.WithEvent(deferred with { Status = MessageStatus.Sending });
        var again = MessageEvents.WithEvent(retrying with { Status = MessageStatus.Deferred, Attempts = [Attempt(1), Attempt(2)] });
        var failed = MessageEvents.WithEvent(again with { Status = MessageStatus.Failed });

        Assert.Empty(queued.Events);
        Assert.Empty(sending.Events);
        Assert.Equal(["message.deferred"], deferred.Events.Select(e => e.Type));
        Assert.Single(rewritten.Events);
        Assert.Equal(["message.deferred", "message.queued", "message.deferred", "message.failed"], failed.Events.Select(e => e.Type));
        Assert.Equal([1, 2, 3, 4], failed.Events.Select(e => e.Sequence));
        Assert.Equal(451, failed.Events[0].Reply!.Code);
        Assert.Equal(2, failed.Events[2].Attempt);
    }

    [Fact]
    public void A_webhook_body_stays_within_20_KB_and_says_when_recipients_were_cut()
    {
        var message = MessageEvents.WithEvent(Message(MessageStatus.Deferred, recipients: 300) with { Attempts = [Attempt(1)] });
        var small = MessageEvents.WithEvent(Message(MessageStatus.Deferred, recipients: 2) with { Attempts = [Attempt(1)] });

        var body = EventPayload.Body(message, message.Events[0]);
        var smallBody = EventPayload.Body(small, small.Events[0]);

        Assert.True(Encoding.UTF8.GetByteCount(body) <= EventPayload.MaxBytes, $"{Encoding.UTF8.GetByteCount(body)} bytes");
        var data = JsonNode.Parse(body)!["data"]!;
        Assert.True((bool)data["recipientsTruncated"]!);
        Assert.InRange(data["recipients"]!.AsArray().Count, 1, 299);
        Assert.False((bool)JsonNode.Parse(smallBody)!["data"]!["recipientsTruncated"]!);
        Assert.Equal(2, JsonNode.Parse(smallBody)!["data"]!["recipients"]!.AsArray().Count);
    }
}
