using System.Security.Cryptography;

namespace MailApi.DevRelay;

/// <summary>Makes Postfix-like queue ids: 12 upper-case hexadecimal characters.</summary>
internal static class QueueIdGenerator
{
    private static int _counter = RandomNumberGenerator.GetInt32(0, 0x1000);

    /// <summary>
    /// A new id: 7 hex digits of the time in 1/16 s (wraps every ~194 days), 2 of a process-wide counter and
    /// 3 random ones, so ids made by one process in one moment differ and ids sort roughly by time.
    /// </summary>
    public static string Next()
    {
        var time = (ulong)(DateTime.UtcNow.Ticks / (TimeSpan.TicksPerSecond / 16)) & 0xFFFFFFF;
        var counter = (uint)Interlocked.Increment(ref _counter) & 0xFF;
        var random = (uint)RandomNumberGenerator.GetInt32(0, 0x1000);
        return $"{time:X7}{counter:X2}{random:X3}";
    }
}
