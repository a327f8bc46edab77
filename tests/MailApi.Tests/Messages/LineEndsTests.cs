using MailApi.Messages;

namespace MailApi.Tests.Messages;

public sealed class LineEndsTests
{
    /// <summary>The conversion as first written: every CRLF, bare CR and bare LF becomes CRLF.</summary>
    private static string Reference(string text) => text.Replace("\r\n", "\n").Replace('\r', '\n').Replace("\n", "\r\n");

    [Fact]
    public void Every_mix_of_line_ends_up_to_seven_characters_becomes_the_reference()
    {
        var alphabet = new[] { 'a', '\r', '\n', '.' };
        var count = 0;
        for (var length = 0; length <= 7; length++)
        {
            var digits = new int[length];
            while (true)
            {
                var text = new string(digits.Select(d => alphabet[d]).ToArray());
                Assert.Equal(Reference(text), LineEnds.ToCrlf(text));
                count++;
                var position = 0;
                while (position < length && ++digits[position] == alphabet.Length)
                {
                    digits[position++] = 0;
                }
                if (position == length)
                {
                    break;
                }
            }
        }
        Assert.Equal(Enumerable.Range(0, 8).Sum(n => (int)Math.Pow(4, n)), count);
    }

    [Fact]
    public void Text_already_in_crlf_is_returned_as_it_is()
    {
        var text = string.Join("\r\n", Enumerable.Range(0, 25).Select(i => $"{i:D3} " + new string('x', 74)));
        Assert.Same(text, LineEnds.ToCrlf(text));
        Assert.Null(LineEnds.ToCrlf(null));
        Assert.Equal("a\r\nb\r\n\r\nc\r\n", LineEnds.ToCrlf("a\r\nb\n\rc\r"));
    }
}
