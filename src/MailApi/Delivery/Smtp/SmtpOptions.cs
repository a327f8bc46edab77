using MailApi.Delivery.Relays;

namespace MailApi.Delivery.Smtp;

/// <summary>
/// The single upstream relay (section <c>Smtp</c>) used when no <c>Relays</c> list is configured, and what applies to
/// every relay: the Message-ID domain and connection reuse.
/// </summary>
public sealed class SmtpOptions : RelayOptions
{
    public const string Section = "Smtp";

    /// <summary>The domain of generated Message-IDs; the sender's domain when empty.</summary>
    public string? MessageIdDomain { get; set; }

    /// <summary>Connection reuse towards every relay (<c>Smtp:Pool</c>).</summary>
    public SmtpPoolOptions Pool { get; set; } = new();
}

/// <summary>
/// How connections to the relay are reused (section <c>Smtp:Pool</c>): one connection carries many messages,
/// so the handshake, greeting, EHLO, STARTTLS and AUTH are paid once per connection rather than once per message.
/// </summary>
public sealed class SmtpPoolOptions
{
    /// <summary>Reuse connections; <c>false</c> opens one connection per message and says QUIT after it (the naive way).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Connections open at once to one relay, in use or idle; 0 means as many as <c>Delivery:Workers</c>.</summary>
    public int MaxConnections { get; set; }

    /// <summary>After this many messages a connection says QUIT and a new one is opened (relays often limit messages per session).</summary>
    public int MaxMessagesPerConnection { get; set; } = 100;

    /// <summary>An idle connection says QUIT after this long, well before the relay would time it out (RFC 5321 §4.5.3.2: 5 minutes).</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>The TLS mode towards the relay (<c>Smtp:Security</c>).</summary>
public enum SmtpSecurity
{
    /// <summary>Plain text, never STARTTLS.</summary>
    None,
    /// <summary>STARTTLS required: fail if the relay does not offer it.</summary>
    StartTls,
    /// <summary>STARTTLS when the relay offers it, plain text otherwise.</summary>
    StartTlsWhenAvailable,
    /// <summary>TLS from the first byte (port 465).</summary>
    SslOnConnect,
    /// <summary>MailKit decides from the port: 465 → TLS on connect, otherwise STARTTLS when available.</summary>
    Auto,
}
