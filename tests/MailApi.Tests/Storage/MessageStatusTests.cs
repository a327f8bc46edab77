using MailApi.Storage;

namespace MailApi.Tests.Storage;

public sealed class MessageStatusTests
{
    [Theory]
    [InlineData("accepted,accepted", MessageStatus.Sent)]
    [InlineData("accepted,rejected", MessageStatus.PartiallySent)]
    [InlineData("accepted,bounced", MessageStatus.PartiallySent)]
    [InlineData("suppressed,accepted", MessageStatus.PartiallySent)]
    [InlineData("bounced,rejected", MessageStatus.Bounced)]
    [InlineData("bounced,suppressed", MessageStatus.Bounced)]
    [InlineData("rejected,suppressed", MessageStatus.Failed)]
    [InlineData("suppressed", MessageStatus.Failed)]
    public void A_final_message_is_what_its_recipients_add_up_to(string statuses, MessageStatus expected)
    {
        var recipients = statuses.Split(',')
            .Select((s, i) => new RecipientState($"r{i}@domain.local", Enum.Parse<RecipientStatus>(s, ignoreCase: true), null))
            .ToList();

        Assert.Equal(expected, MessageStatuses.FinalFrom(recipients));
    }
}
