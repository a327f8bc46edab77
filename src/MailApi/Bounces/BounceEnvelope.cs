using MailApi.Delivery.Smtp;
using Microsoft.Extensions.Options;

namespace MailApi.Bounces;

/// <summary>
/// What a dialogue asks of the relay when bounces are on: a delivery status notification for each recipient on failure
/// or delay, with the returned headers only, the message id as envelope id, and the VERP return path as MAIL FROM when
/// one is configured. MailKit sends these only to a relay that offers DSN; with bounces off the dialogue is as before.
/// </summary>
public sealed class BounceEnvelope(IOptionsMonitor<BounceOptions> options, BounceTokens tokens)
{
    /// <summary>The request for <paramref name="messageId"/>, or null when bounces are off.</summary>
    public DsnRequest? For(Guid messageId) =>
        options.CurrentValue.Enabled ? new DsnRequest(messageId.ToString(), tokens.ReturnPathFor(messageId)) : null;
}
