using System.Diagnostics.Metrics;
using MailApi.Bounces;
using MailApi.Delivery.Relays;
using MailApi.Delivery.Smtp;
using MailApi.Storage;
using MailApi.Webhooks;

namespace MailApi.Telemetry;

/// <summary>
/// The service's own instruments, on the meter <see cref="MeterName"/>. The Prometheus exporter turns each name's dots
/// into underscores, appends the unit (<c>s</c> → <c>_seconds</c>) and <c>_total</c> to counters, so
/// <c>mailapi.messages.accepted</c> is scraped as <c>mailapi_messages_accepted_total</c>. The queue-depth gauges are
/// <see cref="QueueDepth"/>'s, on the same meter, and <c>mailapi.relay.paused</c> is <see cref="RelayGauge"/>'s.
/// Labels never carry an address: the relay is its name (host:port for the single <c>Smtp</c> relay), a command its verb
/// (<see cref="SmtpLabels"/>).
/// </summary>
/// <remarks>
/// Every counter family shows from the start with a zero series for each label set known then (<see cref="StartAtZero"/>),
/// as Prometheus' instrumentation guidance asks: a query or an alert over a series that appears only with its first
/// event sees nothing rather than 0 until then.
/// </remarks>
public sealed class MailApiMetrics
{
    public const string MeterName = "MailApi";

    // Dialogues take milliseconds to a few minutes (Smtp:Timeout per command); the time to a final status spans retries up to Delivery:MaxAge.
    private static readonly double[] DialogueBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
    private static readonly double[] FinalBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600];

    /// <summary>The statuses a message finishes in (bounced comes later, from a report, and is not counted here).</summary>
    private static readonly MessageStatus[] FinishedStatuses = [.. MessageStatuses.Final.Where(s => s != MessageStatus.Bounced)];

    /// <summary>An attempt's outcome when the next relay was tried at once.</summary>
    private const string FailedOver = "failed_over";

    private static readonly string[] AttemptOutcomes =
        [.. new[] { MessageStatus.Sent, MessageStatus.PartiallySent, MessageStatus.Deferred, MessageStatus.Failed }.Select(s => s.Name()), FailedOver];

    /// <summary>
    /// The replies of a connection's opening and of every message's transaction, each in the classes RFC 5321 §4.3.2 allows
    /// it (421 may answer anything): the series a refusal-rate query reads. Other commands' show from their first reply.
    /// </summary>
    private static readonly (string Command, string[] Classes)[] EveryDialogue =
    [
        (SmtpLabels.Greeting, ["2xx", "4xx", "5xx"]), ("EHLO", ["2xx", "4xx", "5xx"]), ("MAIL", ["2xx", "4xx", "5xx"]),
        ("RCPT", ["2xx", "4xx", "5xx"]), ("DATA", ["3xx", "4xx", "5xx"]), (SmtpLabels.DataEnd, ["2xx", "4xx", "5xx"]),
    ];

    private const string WebhookDelivered = "delivered";
    private const string WebhookRetry = "retry";
    private const string WebhookFailed = "failed";

    /// <summary>The ways a bounce report comes in (<c>via</c>) and what the intake made of it (<c>result</c>).</summary>
    private static readonly string[] BounceWays = ["imap", "http", "dev"];

    private static readonly string[] BounceResults = ["matched", "unmatched", "duplicate"];

    private static readonly string[] BounceClasses = [.. Enum.GetValues<BounceClass>().Select(c => c.ToString().ToLowerInvariant())];

    private readonly Counter<long> _accepted;
    private readonly Counter<long> _finished;
    private readonly Counter<long> _attempts;
    private readonly Counter<long> _replies;
    private readonly Counter<long> _webhookDeliveries;
    private readonly Counter<long> _suppressed;
    private readonly Counter<long> _bounceReports;
    private readonly Counter<long> _bounces;
    private readonly Histogram<double> _deliveryDuration;
    private readonly Histogram<double> _acceptToFinal;
    private readonly IRelayStates? _relays;

    /// <param name="meters">Where the meter comes from.</param>
    /// <param name="relays">The configured relays, whose series start at zero; none when null.</param>
    public MailApiMetrics(IMeterFactory meters, IRelayStates? relays = null)
    {
        _relays = relays;
        var meter = meters.Create(MeterName);
        _accepted = meter.CreateCounter<long>("mailapi.messages.accepted", "{message}", "Messages stored and answered 202.");
        _finished = meter.CreateCounter<long>("mailapi.messages.finished", "{message}",
            "Messages that reached a final status (sent, partially_sent, failed, canceled), by status.");
        _attempts = meter.CreateCounter<long>("mailapi.delivery.attempts", "{attempt}",
            "SMTP dialogues, by relay and outcome (the message's status after it: sent, partially_sent, deferred, failed; failed_over when the next relay was tried at once).");
        _replies = meter.CreateCounter<long>("mailapi.smtp.replies", "{reply}", "Relay replies, by relay, command verb and reply class.");
        _deliveryDuration = meter.CreateHistogram("mailapi.delivery.duration", "s", "Duration of one SMTP dialogue, by relay.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DialogueBuckets });
        _acceptToFinal = meter.CreateHistogram("mailapi.accept_to_final", "s",
            "From the 202 (or sendAt, if later) to sent, partially_sent or failed.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = FinalBuckets });
        _webhookDeliveries = meter.CreateCounter<long>("mailapi.webhook.deliveries", "{try}",
            "Webhook delivery tries, by outcome: delivered, retry (another try is scheduled), failed.");
        _suppressed = meter.CreateCounter<long>("mailapi.recipients.suppressed", "{recipient}",
            "Recipients never offered to the relay because their key's suppression list has them.");
        _bounceReports = meter.CreateCounter<long>("mailapi.bounce.reports", "{report}",
            "Bounce reports taken in, by way (imap, http, dev) and result (matched, unmatched, duplicate).");
        _bounces = meter.CreateCounter<long>("mailapi.bounces", "{recipient}", "Recipients that bounced after the relay took them, by class.");
    }

    /// <summary>
    /// Adds 0 to every counter for each label set known now — outcomes, statuses, the configured relays, webhook outcomes,
    /// bounce ways, results and classes — so each family and those series show before their first event. Once, after
    /// the meter provider listens: a measurement nothing listens to is lost (<see cref="TelemetryExtensions.MapTelemetry"/>).
    /// </summary>
    public void StartAtZero()
    {
        _accepted.Add(0);
        _suppressed.Add(0);
        foreach (var status in FinishedStatuses)
        {
            _finished.Add(0, new KeyValuePair<string, object?>("status", status.Name()));
        }
        foreach (var relay in _relays?.Snapshot() ?? [])
        {
            var name = new KeyValuePair<string, object?>("relay", relay.Name);
            foreach (var outcome in AttemptOutcomes)
            {
                _attempts.Add(0, name, new("outcome", outcome));
            }
            foreach (var (command, classes) in EveryDialogue)
            {
                foreach (var replyClass in classes)
                {
                    _replies.Add(0, name, new("command", command), new("class", replyClass));
                }
            }
        }
        foreach (var outcome in new[] { WebhookDelivered, WebhookRetry, WebhookFailed })
        {
            _webhookDeliveries.Add(0, new KeyValuePair<string, object?>("outcome", outcome));
        }
        foreach (var via in BounceWays)
        {
            foreach (var result in BounceResults)
            {
                _bounceReports.Add(0, new KeyValuePair<string, object?>("via", via), new("result", result));
            }
        }
        foreach (var bounceClass in BounceClasses)
        {
            _bounces.Add(0, new KeyValuePair<string, object?>("class", bounceClass));
        }
    }

    /// <summary>A bounce report was taken in by <paramref name="via"/> (imap, http, dev): <c>matched</c>, <c>unmatched</c> or <c>duplicate</c>.</summary>
    public void BounceReport(string via, string result) =>
        _bounceReports.Add(1, new KeyValuePair<string, object?>("via", via), new KeyValuePair<string, object?>("result", result));

    /// <summary>A recipient bounced, of class <paramref name="bounceClass"/> (hard, soft, policy, unknown).</summary>
    public void Bounced(string bounceClass) => _bounces.Add(1, new KeyValuePair<string, object?>("class", bounceClass));

    /// <summary><paramref name="recipients"/> recipients were marked suppressed (at submit, or before a retry).</summary>
    public void Suppressed(int recipients) => _suppressed.Add(recipients);

    /// <summary>Messages were stored and are answered 202.</summary>
    public void Accepted(int messages) => _accepted.Add(messages);

    /// <summary>
    /// A run of the job ended and its outcome was stored as <paramref name="saved"/>'s last attempts, one per relay tried
    /// (<paramref name="attempts"/>, in order): each attempt (outcome <c>failed_over</c> where the next relay was tried at
    /// once), its duration, every reply of its transcript and, when the message is now final, the message.
    /// </summary>
    public void Attempted(IReadOnlyList<AttemptResult> attempts, StoredMessage saved)
    {
        for (var i = 0; i < attempts.Count; i++)
        {
            var attempt = attempts[i];
            var relay = new KeyValuePair<string, object?>("relay", attempt.Upstream);
            var recorded = saved.Attempts[saved.Attempts.Count - attempts.Count + i];
            _attempts.Add(1, relay, new("outcome", recorded.FailedOver ? FailedOver : recorded.Outcome.Name()));
            if (recorded.FinishedAt is { } finishedAt)
            {
                _deliveryDuration.Record((finishedAt - recorded.StartedAt).TotalSeconds, relay);
            }
            foreach (var entry in attempt.Transcript)
            {
                if (entry.Reply is { } reply)
                {
                    _replies.Add(1, relay, new("command", SmtpLabels.Command(entry.Command)), new("class", SmtpLabels.ReplyClass(reply.Code)));
                }
            }
        }
        if (saved.Status.IsFinal())
        {
            Finished(saved);
        }
    }

    /// <summary><paramref name="message"/> was just stored in a final status.</summary>
    public void Finished(StoredMessage message)
    {
        _finished.Add(1, new KeyValuePair<string, object?>("status", message.Status.Name()));
        if (message.Status != MessageStatus.Canceled)
        {
            var due = message.SendAt is { } sendAt && sendAt > message.CreatedAt ? sendAt : message.CreatedAt;
            _acceptToFinal.Record(Math.Max(0, (message.UpdatedAt - due).TotalSeconds));
        }
    }

    /// <summary>One webhook try was recorded; <paramref name="saved"/> is the delivery after it.</summary>
    public void WebhookTried(StoredDelivery saved) => _webhookDeliveries.Add(1, new KeyValuePair<string, object?>("outcome", saved.Status switch
    {
        WebhookDeliveryStatus.Delivered => WebhookDelivered,
        WebhookDeliveryStatus.Pending => WebhookRetry,
        _ => WebhookFailed,
    }));
}
