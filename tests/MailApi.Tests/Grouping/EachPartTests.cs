using MailApi.Grouping;

namespace MailApi.Tests.Grouping;

/// <summary>A round served in parts: a part that fails fails its own items with its own error, and no other item.</summary>
public sealed class EachPartTests
{
    [Fact]
    public async Task Each_item_of_a_failed_part_gets_that_parts_error_and_the_others_their_result()
    {
        string[][] parts = [["a", "b"], ["c"], ["d"]];
        var refused = new InvalidOperationException("c refused");
        var served = new List<string>();

        var results = await EachPart.ServeAsync(parts, part =>
        {
            served.AddRange(part);
            return part[0] == "c" ? Task.FromException(refused) : Task.CompletedTask;
        }, item => item.ToUpperInvariant());

        // Every part is served, in order, the failed one included.
        Assert.Equal(["a", "b", "c", "d"], served);
        Assert.Equal("A", results("a"));
        Assert.Equal("B", results("b"));
        Assert.Same(refused, Assert.Throws<InvalidOperationException>(() => results("c")));
        Assert.Equal("D", results("d"));
    }
}
