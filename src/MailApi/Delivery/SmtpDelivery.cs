using System.Net.Sockets;
using MailApi.Storage;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace MailApi.Delivery;

/// <summary>
/// Runs one SMTP dialogue with the upstream for one message: connect, EHLO, STARTTLS, AUTH, MAIL FROM,
/// RCPT TO for each recipient still pending, DATA, the message, QUIT. One MailKit client per call:
/// MailKit clients are not thread-safe, and each worker runs its own dialogue.
/// </summary>
public sealed class SmtpDelivery(IOptionsMonitor<SmtpOptions> options, ILogger<SmtpDelivery> logger)
{
    public async Task<AttemptResult> SendAsync(StoredMessage message, IReadOnlyList<string> recipients, CancellationToken cancellationToken)
    {
        var smtp = options.CurrentValue;
        var recorder = new TranscriptRecorder();
        using var client = new DeliveryClient(recorder)
        {
            LocalDomain = smtp.HeloName,
            Timeout = (int)smtp.Timeout.TotalMilliseconds,
        };
        if (smtp.AcceptAnyCertificate)
        {
            client.ServerCertificateValidationCallback = (_, _, _, _) => true;
            client.CheckCertificateRevocation = false;
        }

        string? error = null;
        try
        {
            await client.ConnectAsync(smtp.Host, smtp.Port, ToMailKit(smtp.Security), cancellationToken);
            // DATA rather than BDAT (CHUNKING): the dialogue our users know, and a transcript with its 354.
            client.Capabilities &= ~(SmtpCapabilities.Chunking | SmtpCapabilities.BinaryMime);
            if (smtp.HasCredentials && client.Capabilities.HasFlag(SmtpCapabilities.Authentication))
            {
                if (!client.IsSecure)
                {
                    logger.LogWarning("Authenticating to {Upstream} without TLS (Smtp:Security is {Security})", smtp.Upstream, smtp.Security);
                }
                await client.AuthenticateAsync(smtp.Username!, smtp.Password ?? "", cancellationToken);
            }
            var envelope = recipients.Select(a => new MailboxAddress("", a)).ToList();
            await client.SendAsync(MimeMessageBuilder.Build(message), MimeMessageBuilder.Sender(message), envelope, cancellationToken);
            await client.DisconnectAsync(quit: true, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            error = Describe(ex, smtp);
            logger.LogWarning("Attempt for message {MessageId} to {Upstream} ended: {Error}", message.Id, smtp.Upstream, error);
            await QuitQuietlyAsync(client);
        }
        return new AttemptResult(smtp.Upstream, recorder.Entries, error);
    }

    /// <summary>After a refused command MailKit stays connected (it sent RSET): say QUIT rather than drop the line.</summary>
    private static async Task QuitQuietlyAsync(SmtpClient client)
    {
        if (!client.IsConnected)
        {
            return;
        }
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await client.DisconnectAsync(quit: true, timeout.Token);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or SmtpProtocolException or SmtpCommandException)
        {
            // The attempt's outcome is already decided; a relay that hangs up on QUIT changes nothing.
        }
    }

    private static SecureSocketOptions ToMailKit(SmtpSecurity security) => security switch
    {
        SmtpSecurity.None => SecureSocketOptions.None,
        SmtpSecurity.StartTls => SecureSocketOptions.StartTls,
        SmtpSecurity.StartTlsWhenAvailable => SecureSocketOptions.StartTlsWhenAvailable,
        SmtpSecurity.SslOnConnect => SecureSocketOptions.SslOnConnect,
        _ => SecureSocketOptions.Auto,
    };

    /// <summary>One line saying why the dialogue ended, without secrets or message content.</summary>
    internal static string Describe(Exception ex, SmtpOptions smtp) => ex switch
    {
        SocketException s => $"Could not connect to {smtp.Upstream}: {s.SocketErrorCode}.",
        SslHandshakeException => $"TLS handshake with {smtp.Upstream} failed.",
        NotSupportedException n when n.Message.Contains("STARTTLS", StringComparison.OrdinalIgnoreCase) =>
            $"{smtp.Upstream} does not offer STARTTLS, which Smtp:Security=StartTls requires.",
        AuthenticationException => $"{smtp.Upstream} refused the credentials of Smtp:Username.",
        TimeoutException or OperationCanceledException => $"{smtp.Upstream} did not answer within Smtp:Timeout ({smtp.Timeout}).",
        SmtpCommandException c => $"{smtp.Upstream} refused the command: {(int)c.StatusCode} {c.Message}",
        SmtpProtocolException => $"{smtp.Upstream} closed the connection or broke the protocol: {ex.Message}",
        IOException => $"The connection to {smtp.Upstream} failed: {ex.Message}",
        _ => $"{ex.GetType().Name}: {ex.Message}",
    };
}
