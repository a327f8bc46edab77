using MailApi.Delivery;

namespace MailApi.Tests.Delivery;

public sealed class HangfireScheduleTests
{
    [Theory]
    [InlineData("2026-12-07T10:00:00.0000000+00:00", "2026-12-07T10:00:00")]
    [InlineData("2026-12-07T10:00:00.0000001+00:00", "2026-12-07T10:00:01")]
    [InlineData("2026-12-07T10:59:59.9990000+00:00", "2026-12-07T11:00:00")]
    [InlineData("2026-12-07T11:00:00.5000000+01:00", "2026-12-07T10:00:01")]
    public void A_time_is_rounded_up_to_the_whole_second_in_utc(string at, string expected)
    {
        var rounded = HangfireSchedule.RoundUpToSecond(DateTimeOffset.Parse(at, System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(DateTime.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), rounded);
        Assert.Equal(DateTimeKind.Utc, rounded.Kind);
    }
}
