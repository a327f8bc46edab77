using System.Security.Cryptography;
using System.Text.Json.Serialization;

namespace MailApi.Webhooks;

/// <summary>An endpoint as the API shows it; <see cref="Secret"/> only in the answers to create.</summary>
public sealed record WebhookResource(
    Guid Id, string Url, IReadOnlyList<string> Events, string? Description, bool Enabled, string? DisabledReason,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Secret = null)
{
    public static WebhookResource Of(StoredEndpoint e, bool withSecret = false) => new(
        e.Id, e.Url, e.Events, e.Description, e.Enabled, e.DisabledReason, e.CreatedAt, e.UpdatedAt, withSecret ? e.Secret : null);
}

public sealed record WebhookList(IReadOnlyList<WebhookResource> Items);

/// <summary>The answer to a rotation: the new secret, shown this once.</summary>
public sealed record SecretResource(string Secret);

/// <summary>One event for one endpoint and every try of it; <see cref="Id"/> is the <c>webhook-id</c> header.</summary>
public sealed record DeliveryResource(
    Guid Id, Guid EndpointId, Guid EventId, Guid? MessageId, string Type, WebhookDeliveryStatus Status, IReadOnlyList<DeliveryAttemptResource> Attempts,
    DateTimeOffset? NextAttemptAt, DateTimeOffset CreatedAt)
{
    public static DeliveryResource Of(StoredDelivery d) => new(d.Id, d.EndpointId, d.EventId, d.MessageId, d.Type, d.Status,
        d.Attempts.Select(a => new DeliveryAttemptResource(a.At, a.StatusCode, a.DurationMs, a.Error, a.ResponseBody)).ToList(),
        d.NextAttemptAt, d.CreatedAt);
}

/// <summary>One try: the receiver's status code (null when none came), how long it took, why it failed, the first KB of the answer.</summary>
public sealed record DeliveryAttemptResource(DateTimeOffset At, int? StatusCode, long DurationMs, string? Error, string? ResponseBody);

public sealed record DeliveryList(IReadOnlyList<DeliveryResource> Items, string? NextCursor);

/// <summary>All deliveries of one message's events, oldest first (a message has few: no paging).</summary>
public sealed record MessageDeliveryList(IReadOnlyList<DeliveryResource> Items);

/// <summary>Webhook signing secrets: <c>whsec_</c> and the base64 of 32 random bytes, as Standard Webhooks writes them.</summary>
public static class WebhookSecret
{
    public const string Prefix = "whsec_";

    public static string New() => Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>The key bytes the signature is computed with.</summary>
    public static byte[] Key(string secret) => Convert.FromBase64String(secret.StartsWith(Prefix, StringComparison.Ordinal) ? secret[Prefix.Length..] : secret);
}
