using System.Globalization;
using System.Net.Sockets;
using System.Text;
using MailApi.Delivery.Dkim;
using MailApi.Delivery.Relays;
using MailApi.Storage;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using MimeKit.IO;

namespace MailApi.Delivery.Smtp;

/// <summary>
/// Runs the SMTP dialogue for one message through the relays that take its sender (<see cref="RelayRouter.Route"/>),
/// one after the other while a relay fails before taking anything (<see cref="AttemptResult.FailOver"/>): each relay
/// tried is an attempt of its own. With each relay it takes a connection from that relay's pool: a new connection
/// starts with connect, greeting, EHLO, STARTTLS and AUTH; a reused one goes straight to MAIL FROM. Then RCPT TO for
/// each recipient still pending (pipelined with MAIL FROM where the relay offers PIPELINING), DATA, the message; QUIT
/// when the connection will carry no further message.
/// </summary>
/// <remarks>
/// The attempt's transcript is its own transaction; on a new connection it starts with the greeting, so the
/// greeting, EHLO and AUTH of a connection are in the attempt that opened it (the same <see cref="AttemptResult.ConnectionId"/>).
/// A reused connection the relay closed while it was idle is replaced before anything was accepted on it:
/// that is no failed attempt, and the transcript shows the new connection only. A reply to MAIL FROM, RCPT, DATA or
/// the end of data is the message's own answer and ends the attempt whatever relays are left; so does an end of data
/// without a reply, since that relay may have the message.
/// </remarks>
public sealed class SmtpDelivery(RelayRouter relays, DkimSigning dkim, Bounces.BounceEnvelope bounces, TimeProvider clock, ILogger<SmtpDelivery> logger)
{
    /// <param name="message">The message.</param>
    /// <param name="recipients">The recipients still to be sent to.</param>
    /// <param name="cancellationToken">Ends waiting for a connection or a relay's turn.</param>
    /// <param name="firstRelay">A relay to try first, if it takes the sender (the one that took the message's last transaction).</param>
    public async Task<IReadOnlyList<AttemptResult>> SendAsync(StoredMessage message, IReadOnlyList<string> recipients, CancellationToken cancellationToken,
        string? firstRelay = null)
    {
        var sender = MimeMessageBuilder.Sender(message).Address;
        var route = relays.Route(sender);
        if (route.FirstOrDefault(r => r.Name == firstRelay) is { } first)
        {
            route = [first, .. route.Where(r => r != first)];
        }
        if (route.Count == 0)
        {
            var now = clock.GetUtcNow();
            var error = $"No relay takes the sender {sender}: no entry of Relays lists it, its domain or * in Senders.";
            logger.LogError("Message {MessageId} not sent: {Error}", message.Id, error);
            return [new AttemptResult("", [], error) { StartedAt = now, FinishedAt = now }];
        }
        var attempts = new List<AttemptResult>(1);
        foreach (var relay in route)
        {
            if (attempts.Count > 0)
            {
                logger.LogInformation("Message {MessageId}: {Failed} did not take it; trying {Relay} at once", message.Id, attempts[^1].Upstream, relay.Name);
            }
            await relay.WaitForTurnAsync(cancellationToken);
            var attempt = await SendThroughAsync(relay, message, recipients, cancellationToken);
            relay.Record(failed: attempt.RelayFault || attempt.Unconfirmed);
            attempts.Add(attempt);
            if (!attempt.FailOver)
            {
                break;
            }
        }
        return attempts;
    }

    private async Task<AttemptResult> SendThroughAsync(Relay relay, StoredMessage message, IReadOnlyList<string> recipients,
        CancellationToken cancellationToken)
    {
        var startedAt = clock.GetUtcNow();
        var pool = relay.Pool;
        var connection = await pool.RentAsync(cancellationToken);
        try
        {
            var attempt = await SendOnAsync(pool, connection, message, recipients, cancellationToken);
            if (attempt is null)
            {
                logger.LogInformation("Connection {ConnectionId} to {Upstream} was closed by the relay while idle; reconnecting for message {MessageId}",
                    connection.Id, relay.Name, message.Id);
                connection = pool.Replace(connection);
                attempt = await SendOnAsync(pool, connection, message, recipients, cancellationToken);
            }
            return attempt! with { StartedAt = startedAt, FinishedAt = clock.GetUtcNow() };
        }
        finally
        {
            await pool.ReturnAsync(connection);
        }
    }

    /// <summary>One transaction on <paramref name="connection"/>; null when a reused connection turned out closed before any of it was taken.</summary>
    private async Task<AttemptResult?> SendOnAsync(SmtpConnectionPool pool, PooledConnection connection, StoredMessage message,
        IReadOnlyList<string> recipients, CancellationToken cancellationToken)
    {
        var smtp = connection.Settings;
        var client = connection.Client;
        var recorder = connection.Recorder;
        var reused = connection.IsOpen;
        recorder.Clear();
        connection.Reusable = false;
        client.Dkim = dkim.Enabled ? dkim : null;
        client.Dsn = bounces.For(message.Id);
        client.RecipientReplies.Clear();

        string? error = null;
        var undeliverable = false;
        var relayFault = false;
        var opening = !reused;
        try
        {
            if (opening)
            {
                await connection.OpenAsync(logger, cancellationToken);
                opening = false;
            }
            var mime = MimeMessageBuilder.Build(message);
            var sender = MimeMessageBuilder.Sender(message);
            var international = NeedingSmtpUtf8(mime, sender, recipients);
            var format = FormatOptions.Default.Clone();
            format.NewLineFormat = NewLineFormat.Dos;
            // RFC 6532: in a message that needs SMTPUTF8 anyway, the headers carry addresses in UTF-8 too.
            format.International = international is not null;
            if (international is not null && !client.Capabilities.HasFlag(SmtpCapabilities.UTF8))
            {
                // RFC 6531: such an address may not be sent to a relay that does not offer SMTPUTF8, and no
                // ASCII form of it exists. A later attempt would find the same relay: no retry, though another relay
                // of the list, if any, is tried at once (AttemptResult.FailOver).
                error = $"{international} has a non-ASCII local part, which needs SMTPUTF8; {smtp.Described} does not offer SMTPUTF8, so nothing was sent.";
                undeliverable = true;
                logger.LogWarning("Message {MessageId} not sent to {Upstream}: {Error}", message.Id, smtp.Upstream, error);
            }
            else if (TooLarge(client, message, mime, format) is { } size)
            {
                // RFC 1870: the relay said how much it takes; sending more would only end in a 552 after the whole upload.
                error = $"The message is {size} bytes; {smtp.Described} takes at most {client.MaxSize} (SIZE).";
                undeliverable = true;
                logger.LogWarning("Message {MessageId} not sent to {Upstream}: {Error}", message.Id, smtp.Upstream, error);
            }
            else
            {
                connection.Transactions++;
                var envelope = recipients.Select(a => new MailboxAddress("", a)).ToList();
                var mailFrom = client.Dsn?.ReturnPath is { } returnPath ? new MailboxAddress("", returnPath) : sender;
                await client.SendAsync(format, mime, mailFrom, envelope, cancellationToken);
            }
            connection.Reusable = true;
            if (!pool.CanTakeAnother(connection))
            {
                // The last message on this connection (or reuse is off): its QUIT is part of this transcript.
                await connection.QuitQuietlyAsync();
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            if (reused && ClosedWhileIdle(ex, recorder))
            {
                return null;
            }
            error = ex is NoRecipientAcceptedException ? NoRecipientAccepted(client.RecipientReplies.Values, smtp) : Describe(ex, smtp, client.AuthenticationMechanisms);
            relayFault = opening || IsRelayFault(ex, recorder);
            logger.LogWarning("Attempt for message {MessageId} to {Upstream} ended: {Error}", message.Id, smtp.Upstream, error);
            // After a refused MAIL, RCPT, DATA or end of data MailKit said RSET: a 250 to it leaves the connection
            // ready for the next transaction. A 421, a timeout or a broken protocol ends the connection.
            connection.Reusable = ex is SmtpCommandException { StatusCode: not SmtpStatusCode.ServiceNotAvailable }
                && recorder.LastEntry is { Command: "RSET", Reply.IsPositive: true }
                && client.IsConnected;
            if (!connection.Reusable)
            {
                await connection.QuitQuietlyAsync();
            }
        }
        return new AttemptResult(smtp.Upstream, recorder.Entries, error)
        {
            ConnectionId = connection.Id,
            RecipientReplies = new Dictionary<string, SmtpReply>(client.RecipientReplies, StringComparer.OrdinalIgnoreCase),
            ReusedConnection = reused,
            Undeliverable = undeliverable,
            RelayFault = relayFault,
        };
    }

    /// <summary>
    /// After the connection was open: the relay went away or stopped answering (a broken connection, a timeout, a 421)
    /// before the end of data went out, so it cannot have the message. A refusal of MAIL FROM, RCPT or DATA is the
    /// message's own answer, and after the end of data the relay may have it: neither lets another relay be tried.
    /// </summary>
    private static bool IsRelayFault(Exception ex, TranscriptRecorder recorder) =>
        ex is IOException or SocketException or SmtpProtocolException or TimeoutException or OperationCanceledException
            or SmtpCommandException { StatusCode: SmtpStatusCode.ServiceNotAvailable }
        && !recorder.Entries.Any(e => e.Command == ".");

    /// <summary>
    /// The relay closed an idle connection: the transaction broke on the connection (or a 421) before the relay
    /// answered anything else, so nothing of this message was taken and a new connection can carry it.
    /// </summary>
    private static bool ClosedWhileIdle(Exception ex, TranscriptRecorder recorder) =>
        ex is IOException or SocketException or SmtpProtocolException
            or SmtpCommandException { StatusCode: SmtpStatusCode.ServiceNotAvailable }
        && recorder.Entries.All(e => e.Reply is null || e.Reply.Code == 421);

    /// <summary>
    /// The first address of the message that has a non-ASCII local part (envelope sender and recipients, and the
    /// addresses in its headers, which RFC 6532 lets carry UTF-8 only under SMTPUTF8), or null.
    /// </summary>
    private static string? NeedingSmtpUtf8(MimeMessage mime, MailboxAddress sender, IReadOnlyList<string> recipients) =>
        new[] { mime.From, mime.To, mime.Cc, mime.ReplyTo }
            .SelectMany(list => list.Mailboxes.Select(m => m.Address))
            .Prepend(sender.Address)
            .Concat(recipients)
            .FirstOrDefault(EnvelopeAddress.NeedsSmtpUtf8);

    /// <summary>The size of <paramref name="mime"/> when the relay announced a smaller <c>SIZE</c>, else null.</summary>
    private static long? TooLarge(SmtpClient client, StoredMessage message, MimeMessage mime, FormatOptions format)
    {
        if (client.MaxSize == 0 || !client.Capabilities.HasFlag(SmtpCapabilities.Size) || SurelySmaller(message, client.MaxSize))
        {
            return null;
        }
        using var measure = new MeasuringStream();
        mime.WriteTo(format, measure);
        return measure.Length > client.MaxSize ? measure.Length : null;
    }

    // Measuring means writing the whole message once more (MailKit writes it again to send it), and the encoders are
    // among the costliest work of a delivery. Most messages are far below any SIZE limit, which a generous
    // bound tells without writing anything: quoted-printable at most triples a byte, base64 adds a third, headers are small.
    private static bool SurelySmaller(StoredMessage message, uint maxSize)
    {
        var content = message.Content;
        long bound = 64 * 1024 + 3L * (Encoding.UTF8.GetByteCount(content.Text ?? "") + Encoding.UTF8.GetByteCount(content.Html ?? ""));
        foreach (var attachment in content.Attachments)
        {
            bound += attachment.Content.Length / 3 * 4 + attachment.Content.Length / 19 + 1024;
        }
        return bound < maxSize;
    }

    /// <summary>MailApi's own words for a transaction in which no RCPT TO was accepted, quoting the relay's replies.</summary>
    private static string NoRecipientAccepted(IEnumerable<SmtpReply> recipientReplies, RelayOptions smtp)
    {
        var replies = recipientReplies
            .Select(r => string.Join(' ', new[] { r.Code.ToString(CultureInfo.InvariantCulture), r.EnhancedCode, r.Text.Replace('\n', ' ') }
                .Where(part => !string.IsNullOrEmpty(part))))
            .Distinct()
            .ToList();
        // Reply texts often name the recipient, so a long list of recipients is cut short rather than quoted whole.
        const int Quoted = 3;
        var answers = replies.Count switch
        {
            0 => "nothing",
            1 => $"{replies[0]} to every RCPT TO",
            <= Quoted => string.Join("; ", replies),
            _ => $"{string.Join("; ", replies.Take(Quoted))}; and {replies.Count - Quoted} other replies",
        };
        return $"No recipient was accepted: {smtp.Described} answered {answers}.";
    }

    /// <summary>One line saying why the dialogue ended, without secrets or message content.</summary>
    internal static string Describe(Exception ex, RelayOptions smtp, ICollection<string> offeredMechanisms) => ex switch
    {
        NotSupportedException n when n.Message.Contains("authentication mechanism", StringComparison.OrdinalIgnoreCase) =>
            $"{smtp.Described} offers AUTH {string.Join(" ", offeredMechanisms)}, and none of them works with {smtp.Key}:Username and {smtp.Key}:Password (LOGIN, PLAIN, CRAM-MD5, SCRAM-* do).",
        SocketException s => $"Could not connect to {smtp.Described}: {s.SocketErrorCode}.",
        SslHandshakeException => $"TLS handshake with {smtp.Described} failed.",
        NotSupportedException n when n.Message.Contains("STARTTLS", StringComparison.OrdinalIgnoreCase) =>
            $"{smtp.Described} does not offer STARTTLS, which {smtp.Key}:Security=StartTls requires.",
        AuthenticationException => $"{smtp.Described} refused the credentials of {smtp.Key}:Username.",
        TimeoutException or OperationCanceledException => $"{smtp.Described} did not answer within {smtp.Key}:Timeout ({smtp.Timeout}).",
        SmtpCommandException c => $"{smtp.Described} refused the command: {(int)c.StatusCode} {c.Message}",
        SmtpProtocolException => $"{smtp.Described} closed the connection or broke the protocol: {ex.Message}",
        IOException => $"The connection to {smtp.Described} failed: {ex.Message}",
        _ => $"{ex.GetType().Name}: {ex.Message}",
    };
}
