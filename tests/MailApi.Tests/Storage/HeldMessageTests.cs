using System.Text.Json;
using MailApi.Storage;

namespace MailApi.Tests.Storage;

/// <summary>
/// A final message as the in-memory store holds it (compressed JSON, written through a buffer each thread reuses) reads back
/// as the message it was, whatever size the messages packed before it on the same thread.
/// </summary>
public sealed class HeldMessageTests
{
    private static StoredMessage Sent(int attachmentBytes)
    {
        var message = MessageStoreContract.Message("held-" + attachmentBytes);
        var file = new byte[attachmentBytes];
        new Random(attachmentBytes).NextBytes(file);
        return message with
        {
            Status = MessageStatus.Sent,
            QueueId = "092D0CD01",
            Content = message.Content with { Attachments = [new AttachmentContent("big.bin", "application/octet-stream", file, null)] },
        };
    }

    private static string Json(StoredMessage message) => JsonSerializer.Serialize(message);

    [Fact]
    public void Final_messages_of_every_size_read_back_as_they_were_packed_one_after_another()
    {
        // Larger than the reused buffer, then small, then larger again, then small: each reads back whole.
        StoredMessage[] messages = [Sent(300_000), Sent(10), Sent(200_000), Sent(100), Sent(30_000)];
        var held = messages.Select(HeldMessage.Of).ToList();

        Assert.All(held, h => Assert.Null(h.Live));
        Assert.Equal(messages.Select(Json), held.Select(h => Json(h.Message())));
    }

    [Fact]
    public void A_message_not_final_is_held_as_the_record_itself()
    {
        var queued = MessageStoreContract.Message("held-queued");

        Assert.Same(queued, HeldMessage.Of(queued).Live);
    }
}
