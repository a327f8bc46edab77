using System.ComponentModel.DataAnnotations;

namespace MailApi.Messages;

/// <summary>Size and count limits on what callers send (section <c>Limits</c>).</summary>
public sealed class LimitsOptions
{
    public const string Section = "Limits";

    [Range(1024, long.MaxValue)]
    public long MaxRequestBytes { get; set; } = 30 * 1024 * 1024;

    /// <summary>To, Cc and Bcc together.</summary>
    [Range(1, 10_000)]
    public int MaxRecipients { get; set; } = 100;

    /// <summary>Decoded size of all attachments of one message.</summary>
    [Range(0, long.MaxValue)]
    public long MaxAttachmentBytes { get; set; } = 20 * 1024 * 1024;

    /// <summary>Above this many messages waiting to be sent, POST answers 503 instead of storing more.</summary>
    [Range(1, long.MaxValue)]
    public long MaxPendingMessages { get; set; } = 100_000;

    /// <summary>Above this many bytes of content waiting to be sent (bodies, attachments, headers), POST answers 503 too.</summary>
    [Range(1024, long.MaxValue)]
    public long MaxPendingBytes { get; set; } = 2L * 1024 * 1024 * 1024;

    /// <summary>
    /// How far ahead <c>sendAt</c> may be. Capped at ten years: the schedule must be able to hold the time
    /// (a sendAt near year 9999 would overflow it after the message is stored).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")]
    public TimeSpan MaxScheduleAhead { get; set; } = TimeSpan.FromDays(30);
}
