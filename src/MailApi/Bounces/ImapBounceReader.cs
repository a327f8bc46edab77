using System.Net.Sockets;
using MailKit;
using MailKit.Net.Imap;
using Microsoft.Extensions.Options;

namespace MailApi.Bounces;

/// <summary>
/// Reads the bounce mailbox (<see cref="ImapIntakeOptions"/>) into the intake while <c>Bounces:Enabled</c> and
/// <c>Bounces:Imap:Host</c> are set: takes its turn (<see cref="IImapReaderLock"/>), connects, takes every mail
/// (<see cref="ImapBounceMailbox"/>), then waits for more with IDLE where offered, else for the poll interval. Any failure —
/// the server gone, the database gone — is logged and followed by a wait that doubles up to the poll interval and a new
/// connection; a bad mail never stops it (the intake logs it as unmatched). The host stopping ends it.
/// </summary>
internal sealed class ImapBounceReader(
    IOptions<BounceOptions> bounces,
    IOptions<ImapIntakeOptions> imap,
    IImapReaderLock readers,
    BounceIntake intake,
    IBounceStore reports,
    ImapExtensionsOff extensionsOff,
    TimeProvider clock,
    ILogger<ImapBounceReader> logger) : BackgroundService
{
    /// <summary>IDLE is ended and begun again this often: RFC 2177 allows 29 minutes, and NAT boxes forget quiet connections sooner.</summary>
    private static readonly TimeSpan IdleRestart = TimeSpan.FromMinutes(5);

    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(1);

    /// <summary>How long the goodbye (LOGOUT) may take when the reader stops.</summary>
    private static readonly TimeSpan Goodbye = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var options = imap.Value;
        if (!bounces.Value.Enabled || string.IsNullOrEmpty(options.Host))
        {
            return;
        }
        await Task.Yield();
        var mailbox = options.MailboxUrl;
        var failures = 0;
        var standingBy = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var turn = await readers.TryTakeAsync(mailbox, stoppingToken);
                if (turn is null)
                {
                    if (!standingBy)
                    {
                        logger.LogInformation("Another instance reads the bounce mailbox {Mailbox}; asking again every {Interval}", mailbox, options.PollInterval);
                    }
                    standingBy = true;
                    await Task.Delay(options.PollInterval, clock, stoppingToken);
                    continue;
                }
                standingBy = false;
                await ReadAsync(options, turn, () => failures = 0, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                var wait = TimeSpan.FromTicks(Math.Min(FirstRetry.Ticks << Math.Min(failures++, 20), Math.Max(options.PollInterval.Ticks, FirstRetry.Ticks)));
                logger.LogError(ex, "Reading the bounce mailbox {Mailbox} failed; connecting again in {Wait}", mailbox, wait);
                try
                {
                    await Task.Delay(wait, clock, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>One connection: every mail taken, then a wait for more, until the turn is lost or something fails.</summary>
    private async Task ReadAsync(ImapIntakeOptions options, IImapReaderTurn turn, Action roundDone, CancellationToken cancellationToken)
    {
        using var client = new ImapClient();
        try
        {
            await client.ConnectAsync(options.Host!, options.EffectivePort, options.Security, cancellationToken);
            await client.AuthenticateAsync(options.Username!, options.Password!, cancellationToken);
            client.Capabilities &= ~extensionsOff.Capabilities;
            var session = await ImapBounceMailbox.OpenAsync(client, options, intake, reports, bounces.Value.MaxReportBytes, logger, cancellationToken);
            var idle = client.Capabilities.HasFlag(ImapCapabilities.Idle);
            logger.LogInformation("Reading the bounce mailbox {Mailbox} (UIDVALIDITY {UidValidity}); waiting for mail {How}", options.MailboxUrl,
                session.UidValidity, idle ? "with IDLE" : $"every {options.PollInterval}");
            while (true)
            {
                if (!await session.TakeAllAsync(turn, cancellationToken))
                {
                    logger.LogWarning("Lost the turn at reading the bounce mailbox {Mailbox} (its database session ended); asking for it again", options.MailboxUrl);
                    return;
                }
                roundDone();
                if (session.LookAgain)
                {
                    continue;
                }
                if (session.LeftForLater)
                {
                    // A report that came before its message's 250 was recorded: that takes a moment, not a poll interval.
                    await Task.Delay(FirstRetry, clock, cancellationToken);
                    continue;
                }
                if (idle)
                {
                    using var done = new CancellationTokenSource(IdleRestart, clock);
                    session.OnArrival(done.Cancel);
                    await client.IdleAsync(done.Token, cancellationToken);
                    session.OnArrival(null);
                }
                else
                {
                    await Task.Delay(options.PollInterval, clock, cancellationToken);
                }
            }
        }
        finally
        {
            await LogoutAsync(client);
        }
    }

    private static async Task LogoutAsync(ImapClient client)
    {
        if (!client.IsConnected)
        {
            return;
        }
        using var timeout = new CancellationTokenSource(Goodbye);
        try
        {
            await client.DisconnectAsync(true, timeout.Token);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ImapProtocolException or ImapCommandException)
        {
            // The connection is going anyway.
        }
    }
}

/// <summary>
/// IMAP extensions the reader leaves unused even where the server offers them (none, but for tests that walk the way
/// without MOVE or IDLE against a server that has both).
/// </summary>
internal sealed record ImapExtensionsOff(ImapCapabilities Capabilities);
