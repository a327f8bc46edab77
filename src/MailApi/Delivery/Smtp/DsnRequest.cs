namespace MailApi.Delivery.Smtp;

/// <summary>
/// Delivery status notifications asked of the relay (RFC 3461): <c>ENVID</c> and <c>RET=HDRS</c> on MAIL FROM,
/// <c>NOTIFY=FAILURE,DELAY ORCPT=rfc822;…</c> on each RCPT, and the return path to send them to (null: the sender).
/// </summary>
public sealed record DsnRequest(string EnvelopeId, string? ReturnPath);
