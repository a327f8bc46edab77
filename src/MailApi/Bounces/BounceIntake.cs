using System.Security.Cryptography;
using MailApi.Storage;
using MailApi.Suppressions;
using MailApi.Telemetry;
using Microsoft.Extensions.Options;
using MimeKit;

namespace MailApi.Bounces;

/// <summary>
/// The one path every report takes, whichever way it came (HTTP, IMAP, the capture relay): read it
/// (<see cref="BounceReports"/>), skip it if it was taken before, match it to a message (<see cref="BounceMatcher"/>),
/// apply it to that message's accepted recipients, feed the suppression list, and log it. Safe to run twice on the same
/// mail: a report already logged changes nothing, and one whose effect was applied but not logged (a crash between the
/// two) finds its recipients no longer accepted and changes nothing again.
/// </summary>
public sealed class BounceIntake(
    IBounceStore reports,
    IMessageStore messages,
    BounceMatcher matcher,
    SuppressionList suppressions,
    SoftBounces softBounces,
    MailApiMetrics metrics,
    TimeProvider clock,
    ILogger<BounceIntake> logger)
{
    /// <summary>
    /// Takes in one mail. <paramref name="deliveredTo"/> is the envelope recipient the mail was delivered to, when the way it
    /// came says so (Postfix's <c>pipe</c> passes it); else the mail's own headers are read.
    /// </summary>
    public Task<(StoredReport Report, bool Duplicate)> TakeAsync(byte[] raw, string via, string? deliveredTo, CancellationToken cancellationToken) =>
        TakeAsync(raw, via, deliveredTo, null, cancellationToken);

    /// <summary>Takes in one mail read from <paramref name="source"/> (<see cref="StoredReport.Source"/>), recorded on the report.</summary>
    public async Task<(StoredReport Report, bool Duplicate)> TakeAsync(byte[] raw, string via, string? deliveredTo, string? source,
        CancellationToken cancellationToken)
    {
        // MimeKit's header parser takes time that grows with the square of one folded header's length (a 1 MB header,
        // seconds of CPU): a mail that cannot be read in this time is logged as unreadable rather than hold the intake.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(ReadingTime);
        var identity = Identity(raw, deadline.Token);
        if (await reports.FindByIdentityAsync(identity, cancellationToken) is { } known)
        {
            metrics.BounceReport(via, "duplicate");
            return (known, true);
        }
        var parsed = Read(raw, deadline.Token);
        cancellationToken.ThrowIfCancellationRequested();
        var now = clock.GetUtcNow();
        var id = Guid.CreateVersion7(now);
        var match = parsed.Kind == ReportKind.Other && !parsed.FailedRecipientsOnly
            ? new BounceMatch(null, null, parsed.Reason ?? "not a delivery status notification or a complaint")
            : await matcher.MatchAsync(parsed, deliveredTo, now, cancellationToken);
        var report = new StoredReport
        {
            Id = id,
            Identity = identity,
            ReceivedAt = now,
            Via = via,
            Kind = parsed.Kind.ToString().ToLowerInvariant(),
            From = parsed.From,
            Subject = parsed.Subject,
            ReportingMta = parsed.ReportingMta,
            MatchedBy = match.Message is null ? null : match.MatchedBy,
            MessageId = match.Message?.Id,
            Owner = match.Message?.Owner,
            Recipients = parsed.Recipients.Select(r => new ReportedRecipient(r.Address, r.Action, r.Status, r.Diagnostic, Name(r.Class))).ToList(),
            Reason = match.Message is null ? match.Reason : null,
            Source = source,
        };
        if (match.Message is { } message)
        {
            var note = await ApplyAsync(message.Id, parsed, id, now, cancellationToken);
            report = report with { Reason = await ShownFineAsync(message, parsed, cancellationToken) ? null : note };
        }
        var (stored, added) = await reports.AddAsync(report, raw, cancellationToken);
        metrics.BounceReport(via, !added ? "duplicate" : stored.MatchedBy is null ? "unmatched" : "matched");
        logger.LogInformation("Bounce report {ReportId} ({Kind}, via {Via}): {Outcome}", stored.Id, stored.Kind, via,
            stored.MatchedBy is { } by ? $"message {stored.MessageId} by {by}" : $"unmatched: {stored.Reason}");
        return (stored, !added);
    }

    /// <summary>
    /// The report's word on each recipient that is <c>accepted</c> on the message: <c>failed</c> makes it <c>bounced</c>,
    /// <c>delayed</c> and a complaint are recorded on it; a hard bounce and a complaint put the address on the key's
    /// suppression list, soft bounces in a row too. Compare-and-set until it holds. Returns a note when it changed nothing, else null.
    /// </summary>
    private async Task<string?> ApplyAsync(Guid messageId, ParsedReport parsed, Guid reportId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        while (await messages.FindAsync(messageId, cancellationToken) is { } message)
        {
            var applied = new List<(RecipientState Recipient, ReportRecipient Said)>();
            var recipients = message.Recipients.Select(r =>
            {
                if (r.Status != RecipientStatus.Accepted || r.Bounce?.ReportId == reportId || BounceMatcher.Said(parsed, r.Address) is not { } said)
                {
                    return r;
                }
                var bounce = new RecipientBounce(said.Action, said.Status, said.Diagnostic, said.RemoteMta, parsed.ReportingMta, Name(said.Class), reportId, now);
                var changed = said.Action == "failed" ? r with { Status = RecipientStatus.Bounced, Bounce = bounce } : r with { Bounce = bounce };
                applied.Add((changed, said));
                return changed;
            }).ToList();
            if (applied.Count == 0 && message.Status is MessageStatus.Queued or MessageStatus.Sending
                && message.Recipients.Any(r => r.Status == RecipientStatus.Pending && BounceMatcher.Said(parsed, r.Address) is not null))
            {
                // The relay's report came before its 250 was recorded (Postfix can bounce within a second): taken now, its
                // effect would be lost. Nothing is logged, so the report is taken again later, whole.
                throw new ReportTooEarlyException(messageId);
            }
            if (applied.Count == 0)
            {
                return "no recipient the report names is accepted on the message (already bounced, or never sent to it)";
            }
            var updated = message with { Recipients = recipients, Status = StatusAfter(message.Status, recipients), UpdatedAt = now };
            if (await messages.TryUpdateAsync(updated, cancellationToken) is null)
            {
                continue;
            }
            foreach (var (recipient, said) in applied)
            {
                await FeedSuppressionsAsync(message, recipient, said, parsed.Kind, reportId, now, cancellationToken);
            }
            return null;
        }
        return "the message is no longer stored";
    }

    /// <summary>
    /// A hard bounce and a complaint suppress the address; a soft bounce counts towards <see cref="SoftBounces"/>, whose
    /// streak ends when a report shows the address fine (delivered, relayed, a complaint: the mail reached the mailbox) or
    /// suppressed for good. A policy bounce says nothing of the address: it neither counts nor ends a streak.
    /// </summary>
    private async Task FeedSuppressionsAsync(StoredMessage message, RecipientState recipient, ReportRecipient said, ReportKind kind, Guid reportId,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        var bounced = recipient.Status == RecipientStatus.Bounced;
        if (bounced)
        {
            metrics.Bounced(Name(said.Class));
        }
        var address = SuppressionAddress.Of(recipient.Address);
        var source = new SuppressionSource(message.Id, said.Status, said.Diagnostic);
        var reason = kind == ReportKind.Complaint ? SuppressionReason.Complaint
            : bounced && said.Class == BounceClass.Hard ? SuppressionReason.HardBounce
            : (SuppressionReason?)null;
        if (reason is { } why)
        {
            await suppressions.AddAsync(new StoredSuppression
            {
                Owner = message.Owner,
                Address = address,
                Id = Guid.CreateVersion7(now),
                Reason = why,
                CreatedAt = now,
                Source = source,
            }, cancellationToken);
        }
        if (bounced && said.Class == BounceClass.Soft)
        {
            await softBounces.CountAsync(message.Owner, address, reportId, source, now, cancellationToken);
        }
        else if (reason is not null)
        {
            await softBounces.EndAsync(message.Owner, address, cancellationToken);
        }
    }

    /// <summary>
    /// A success report (<c>delivered</c>, <c>relayed</c>: asked for with <c>NOTIFY=SUCCESS</c>) changes no recipient, but
    /// shows the addresses it names fine, so their soft bounces are no longer in a row. True when it named one of the
    /// message's accepted recipients.
    /// </summary>
    private async Task<bool> ShownFineAsync(StoredMessage message, ParsedReport parsed, CancellationToken cancellationToken)
    {
        var fine = message.Recipients
            .Where(r => r.Status == RecipientStatus.Accepted && BounceMatcher.Said(parsed, r.Address, a => a is "delivered" or "relayed") is not null)
            .Select(r => SuppressionAddress.Of(r.Address)).Distinct().ToList();
        foreach (var address in fine)
        {
            await softBounces.EndAsync(message.Owner, address, cancellationToken);
        }
        return fine.Count > 0;
    }

    /// <summary>
    /// A final message that a bounce changed ends by the rule every final status follows (<see cref="MessageStatuses.FinalFrom"/>):
    /// partially_sent while some recipient is still accepted, else bounced. A message still being delivered keeps its status.
    /// </summary>
    private static MessageStatus StatusAfter(MessageStatus status, List<RecipientState> recipients) =>
        !status.IsFinal() || status == MessageStatus.Canceled || !recipients.Any(r => r.Status == RecipientStatus.Bounced)
            ? status
            : MessageStatuses.FinalFrom(recipients);

    private static string Name(BounceClass bounceClass) => bounceClass.ToString().ToLowerInvariant();

    /// <summary>How long reading one report may take.</summary>
    private static readonly TimeSpan ReadingTime = TimeSpan.FromSeconds(5);

    private static ParsedReport Read(byte[] raw, CancellationToken deadline)
    {
        try
        {
            return BounceReports.Parse(new MemoryStream(raw, writable: false), deadline);
        }
        catch (OperationCanceledException)
        {
            return new ParsedReport(ReportKind.Other, null, null, null, null, null, null, [], [], false,
                $"the mail could not be read within {ReadingTime.TotalSeconds:0} s (a header folded over very many lines?)");
        }
    }

    /// <summary>A report's identity: its own Message-ID, which every copy of it carries; else a digest of its bytes.</summary>
    private static string Identity(byte[] raw, CancellationToken deadline)
    {
        try
        {
            var headers = HeaderList.Load(new MemoryStream(raw, writable: false), deadline);
            if (headers[HeaderId.MessageId] is { Length: > 0 } messageId)
            {
                return "message-id:" + messageId.Trim();
            }
        }
        catch (Exception ex) when (ex is FormatException or OperationCanceledException)
        {
            // Not even a header block (or one too slow to read): the bytes are the identity.
        }
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(raw));
    }
}

/// <summary>
/// A report names a recipient of a message still being delivered, before the relay's acceptance of it was recorded. Nothing
/// was logged or changed: the caller offers the report again a moment later (HTTP: 503 with Retry-After; IMAP: the mail stays).
/// </summary>
public sealed class ReportTooEarlyException(Guid messageId)
    : Exception($"The report names a recipient of message {messageId}, which is still being delivered; offer it again in a few seconds.")
{
    public Guid MessageId { get; } = messageId;
}
