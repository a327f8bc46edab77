using Microsoft.Extensions.Options;

namespace MailApi.Suppressions;

/// <summary>
/// Soft bounces in a row put an address on its key's list: the <c>Suppressions:SoftBouncesBeforeSuppress</c>-th makes a
/// <c>soft_bounce</c> entry that expires after <c>Suppressions:SoftBounceExpiry</c>, since a full mailbox may be emptied.
/// A streak ends when the address is suppressed, or shown fine (<see cref="EndAsync"/>); one whose last soft bounce is
/// older than the expiry starts again at one. Failures are logged, never thrown: the report that told it stands.
/// </summary>
public sealed class SoftBounces(ISoftBounceStore streaks, SuppressionList list, IOptionsMonitor<SuppressionOptions> options, ILogger<SoftBounces> logger)
{
    /// <summary>Counts the soft bounce report <paramref name="reportId"/> told of; suppresses the address when the streak reaches the threshold.</summary>
    public async Task CountAsync(string owner, string address, Guid reportId, SuppressionSource source, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var (threshold, expiry) = (options.CurrentValue.SoftBouncesBeforeSuppress, options.CurrentValue.SoftBounceExpiry);
        try
        {
            if (await streaks.CountAsync(owner, address, reportId, now, now - expiry, cancellationToken) is not { } streak || streak.Count < threshold)
            {
                return;
            }
            logger.LogInformation("{Address} soft-bounced {Count} time(s) in a row for key {KeyName} since {FirstAt}",
                address, streak.Count, owner, streak.FirstAt);
            var entry = new StoredSuppression
            {
                Owner = owner,
                Address = address,
                Id = Guid.CreateVersion7(now),
                Reason = SuppressionReason.SoftBounce,
                CreatedAt = now,
                ExpiresAt = now + expiry,
                Source = source,
            };
            // The streak ends only once the list has the address: if storing failed, the next soft bounce tries again.
            if (await list.AddAsync(entry, cancellationToken))
            {
                await streaks.EndAsync(owner, address, threshold, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning("Counting a soft bounce of {Address} for key {KeyName} failed ({Error})", address, owner, ex.Message);
        }
    }

    /// <summary>The address was shown fine (or suppressed for good): its soft bounces are no longer in a row.</summary>
    public async Task EndAsync(string owner, string address, CancellationToken cancellationToken)
    {
        try
        {
            await streaks.EndAsync(owner, address, 0, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning("Ending the soft bounces in a row of {Address} for key {KeyName} failed ({Error})", address, owner, ex.Message);
        }
    }
}
