namespace MailApi.Suppressions;

/// <summary>When soft bounces put an address on the suppression list (section <c>Suppressions</c>).</summary>
public sealed class SuppressionOptions
{
    public const string Section = "Suppressions";

    /// <summary>How many soft bounces in a row suppress the address (1: the first one does).</summary>
    public int SoftBouncesBeforeSuppress { get; set; } = 3;

    /// <summary>
    /// How long a <c>soft_bounce</c> entry suppresses; also how far apart two soft bounces may be and still be in a row
    /// (a streak whose last soft bounce is older starts again at one).
    /// </summary>
    public TimeSpan SoftBounceExpiry { get; set; } = TimeSpan.FromDays(7);
}
