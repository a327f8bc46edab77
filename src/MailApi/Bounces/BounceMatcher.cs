using MailApi.Storage;
using Microsoft.Extensions.Options;

namespace MailApi.Bounces;

/// <summary>Which message a report is about, by which key (<see cref="MatchedBy"/>), or why none.</summary>
public sealed record BounceMatch(StoredMessage? Message, string? MatchedBy, string? Reason);

/// <summary>
/// Ties a report to its message. With <see cref="BounceOptions.ReturnPath"/> set only the VERP token counts: message ids,
/// queue ids and Message-IDs are seen by recipients, so anyone could forge them, and a report whose other keys name
/// another message than its token is refused. Without a return path: the envelope id, the relay's queue id (a message
/// sent within <see cref="BounceOptions.MatchWindow"/> that has the recipient accepted), then the returned Message-ID.
/// </summary>
public sealed class BounceMatcher(IMessageStore messages, BounceTokens tokens, IOptionsMonitor<BounceOptions> options)
{
    public async Task<BounceMatch> MatchAsync(ParsedReport report, string? deliveredTo, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (tokens.ReturnPathConfigured)
        {
            return await ByTokenAsync(report, deliveredTo, cancellationToken);
        }
        if (report.FailedRecipientsOnly)
        {
            return await ByMessageIdAsync(report, cancellationToken) is { } byHeaders
                ? new BounceMatch(byHeaders, "failed_recipients", null)
                : new BounceMatch(null, null, "a plain-text non-delivery report whose quoted headers name no message of this service");
        }
        if (Guid.TryParse(report.EnvelopeId, out var envelopeId) && await messages.FindAsync(envelopeId, cancellationToken) is { } byEnvelope)
        {
            return new BounceMatch(byEnvelope, "envelope_id", null);
        }
        if (report.QueueId is { Length: > 0 } queueId)
        {
            var sent = await messages.FindByQueueIdAsync(queueId, now - options.CurrentValue.MatchWindow, cancellationToken);
            var named = sent.Where(m => m.Recipients.Any(r => r.Status == RecipientStatus.Accepted && Said(report, r.Address) is not null)).ToList();
            if (named.Count == 1)
            {
                return new BounceMatch(named[0], "queue_id", null);
            }
        }
        if (await ByMessageIdAsync(report, cancellationToken) is { } byMessageId)
        {
            return new BounceMatch(byMessageId, "message_id", null);
        }
        return new BounceMatch(null, null, "no message matched its envelope id, queue id or returned Message-ID (past retention, or not sent by this service)");
    }

    private async Task<BounceMatch> ByTokenAsync(ParsedReport report, string? deliveredTo, CancellationToken cancellationToken)
    {
        var candidates = deliveredTo is { Length: > 0 } to ? [to] : report.DeliveredTo;
        var verified = candidates.Select(tokens.Verify).FirstOrDefault(id => id is not null);
        if (verified is not { } id)
        {
            return new BounceMatch(null, null, candidates.Count == 0
                ? "no address it was delivered to (Bounces:ReturnPath is set, so only a verified token matches)"
                : $"no verified token in {string.Join(", ", candidates)} (Bounces:ReturnPath is set, so only a verified token matches)");
        }
        if (await messages.FindAsync(id, cancellationToken) is not { } message)
        {
            return new BounceMatch(null, null, $"the token names message {id}, which is no longer stored");
        }
        var disagree = new List<string>();
        if (report.EnvelopeId is { Length: > 0 } envelopeId && envelopeId != id.ToString())
        {
            disagree.Add($"envelope id {envelopeId}");
        }
        if (report.QueueId is { Length: > 0 } queueId && message.QueueId is { } stored && queueId != stored)
        {
            disagree.Add($"queue id {queueId}");
        }
        if (report.ReturnedMessageId is { Length: > 0 } returned && !string.Equals(returned, message.MessageId, StringComparison.OrdinalIgnoreCase))
        {
            disagree.Add($"Message-ID {returned}");
        }
        return disagree.Count == 0
            ? new BounceMatch(message, "verp", null)
            : new BounceMatch(null, null, $"keys disagree: the token names message {id}, the report's {string.Join(", ", disagree)} another");
    }

    /// <summary>The message whose Message-ID (<c>&lt;id@domain&gt;</c>, as MailApi writes it) the returned headers carry.</summary>
    private async Task<StoredMessage?> ByMessageIdAsync(ParsedReport report, CancellationToken cancellationToken)
    {
        if (report.ReturnedMessageId is not { Length: > 2 } returned)
        {
            return null;
        }
        var local = returned.Trim('<', '>');
        var at = local.IndexOf('@');
        return at > 0 && Guid.TryParse(local[..at], out var id) && await messages.FindAsync(id, cancellationToken) is { } message
            && string.Equals(message.MessageId, returned, StringComparison.OrdinalIgnoreCase)
            ? message
            : null;
    }

    /// <summary>What the report says of <paramref name="address"/>: by the ORCPT it names, else its final recipient, in one normal form.</summary>
    internal static ReportRecipient? Said(ParsedReport parsed, string address) => Said(parsed, address, a => a is "failed" or "delayed" or "complaint");

    /// <summary>The same, among the recipient groups whose action is one <paramref name="counts"/>.</summary>
    internal static ReportRecipient? Said(ParsedReport parsed, string address, Func<string, bool> counts)
    {
        var wanted = Suppressions.SuppressionAddress.Of(address);
        return parsed.Recipients.FirstOrDefault(r => counts(r.Action)
            && (Suppressions.SuppressionAddress.Normalize(r.Address) == wanted || Suppressions.SuppressionAddress.Normalize(r.FinalRecipient) == wanted));
    }
}
