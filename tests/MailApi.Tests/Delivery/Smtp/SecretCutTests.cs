using System.Text;
using MailApi.Delivery.Smtp;
using MailKit;

namespace MailApi.Tests.Delivery.Smtp;

/// <summary>
/// Which bytes <see cref="SecretCut"/> leaves out for the ranges a detector reports. MailKit's own detector only reports
/// while its client authenticates (the switch is internal), so it is seen at work in <see cref="TranscriptAuthTests"/>;
/// here a detector reports fixed ranges, counted from the start of the buffer as MailKit's are.
/// </summary>
public sealed class SecretCutTests
{
    private sealed class FixedRanges(params (int Start, int Length)[] ranges) : IAuthenticationSecretDetector
    {
        public IList<AuthenticationSecret> DetectSecrets(byte[] buffer, int offset, int count) =>
            ranges.Select(r => new AuthenticationSecret(r.Start, r.Length)).ToArray();
    }

    private static string Cut(IAuthenticationSecretDetector? detector, string padded, int offset, int count) =>
        Encoding.ASCII.GetString(SecretCut.Without(detector, Encoding.ASCII.GetBytes(padded), offset, count));

    [Fact]
    public void Without_a_detector_or_a_secret_the_line_is_kept()
    {
        Assert.Equal("MAIL FROM:<a@b.c>\r\n", Cut(null, "##MAIL FROM:<a@b.c>\r\n##", 2, 19));
        Assert.Equal("MAIL FROM:<a@b.c>\r\n", Cut(new FixedRanges(), "##MAIL FROM:<a@b.c>\r\n##", 2, 19));
    }

    [Fact]
    public void Ranges_count_from_the_start_of_the_buffer()
    {
        // "##AUTH PLAIN " is 13 bytes: the initial response starts at 13, not at 11.
        Assert.Equal("AUTH PLAIN \r\n", Cut(new FixedRanges((13, 8)), "##AUTH PLAIN AGFAYgBj\r\n##", 2, 21));
    }

    [Fact]
    public void Every_range_is_left_out()
    {
        Assert.Equal("X  Y \r\n", Cut(new FixedRanges((4, 3), (10, 2)), "##X abc Y zz\r\n", 2, 12));
    }

    [Fact]
    public void The_line_end_stays_whatever_the_range_covers()
    {
        Assert.Equal("\r\n", Cut(new FixedRanges((2, 20)), "##czNjcjN0\r\nMAIL", 2, 10));
        Assert.Equal("\n", Cut(new FixedRanges((2, 20)), "##czNjcjN0\nMAIL", 2, 9));
    }
}
