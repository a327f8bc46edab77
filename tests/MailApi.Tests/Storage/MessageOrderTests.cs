using MailApi.Storage;

namespace MailApi.Tests.Storage;

public sealed class MessageOrderTests
{
    [Fact]
    public void Ids_made_in_one_millisecond_keep_the_order_they_were_made_in()
    {
        var now = DateTimeOffset.UtcNow;
        var ids = Enumerable.Range(0, 2000).Select(_ => MessageOrder.NewId(now)).ToList();

        for (var i = 1; i < ids.Count; i++)
        {
            Assert.True(ids[i - 1].CompareTo(ids[i]) < 0, $"id {i} is not after id {i - 1}");
            Assert.Equal(7, ids[i].Version);
            Assert.Equal(0b10, ids[i].Variant >> 2);
        }
    }
}
