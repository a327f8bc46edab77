namespace MailApi.Delivery.Smtp;

/// <summary>What one SMTP dialogue produced: the transcript and, where the dialogue broke, why.</summary>
/// <param name="Upstream">The relay's name (<see cref="Relays.RelayOptions.Upstream"/>: host:port unless named).</param>
/// <param name="Transcript">Every command with its reply (null where none came).</param>
/// <param name="Error">A one-line description of the exception that ended the dialogue, or null.</param>
public sealed record AttemptResult(string Upstream, IReadOnlyList<TranscriptEntry> Transcript, string? Error)
{
    /// <summary>Which relay connection carried this attempt (its greeting, EHLO and AUTH are in the attempt that opened it).</summary>
    public string? ConnectionId { get; init; }

    /// <summary>
    /// The message cannot go to this relay however often it is tried (larger than its SIZE, or an address that needs
    /// the SMTPUTF8 it does not offer): it fails at once, as a 5yz to the end of data would, without a retry.
    /// </summary>
    public bool Undeliverable { get; init; }

    /// <summary>
    /// The relay failed, not the message, before the end of data went out: it could not be reached, TLS failed, it timed
    /// out or said 421, or it refused the greeting, EHLO, STARTTLS or AUTH. Nothing of the message was taken, so the next
    /// relay can be tried at once.
    /// </summary>
    public bool RelayFault { get; init; }

    /// <summary>When the dialogue with this relay began and ended (after any wait for the relay's rate).</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <inheritdoc cref="StartedAt"/>
    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>Whether another relay may be tried at once: this one failed, or cannot take this message, and took nothing.</summary>
    public bool FailOver => RelayFault || Undeliverable;

    /// <summary>True when the connection was already open from an earlier message: the transcript starts at MAIL FROM.</summary>
    public bool ReusedConnection { get; init; }

    /// <summary>The reply to the end of data, if it came.</summary>
    public SmtpReply? FinalReply => Transcript.LastOrDefault(e => e.Command == ".")?.Reply;

    /// <summary>The end of data went out and no reply came back: the relay may or may not have the message.</summary>
    public bool Unconfirmed => Transcript.Any(e => e.Command == "." && e.Reply is null);

    /// <summary>The relay's reply to each recipient's <c>RCPT TO</c>, by the address as the attempt was given it (MailKit's own report).</summary>
    public IReadOnlyDictionary<string, SmtpReply> RecipientReplies { get; init; } = new Dictionary<string, SmtpReply>();

    /// <summary>The reply to <c>RCPT TO</c> for <paramref name="address"/> in this dialogue, if it came.</summary>
    public SmtpReply? RecipientReply(string address) => RecipientReplies.GetValueOrDefault(address);

    /// <summary>
    /// A 5yz to MAIL FROM, DATA or the end of data: the message itself was refused, so no retry can help
    /// (a 5yz to the greeting, EHLO or AUTH is the relay's configuration, and is retried).
    /// </summary>
    public SmtpReply? PermanentRejection => Transcript.FirstOrDefault(e =>
        e.Reply is { IsPermanent: true }
        && e.Command is { } c
        && (c.StartsWith("MAIL FROM:", StringComparison.OrdinalIgnoreCase) || c == "DATA" || c == "."))?.Reply;
}
