using System.ComponentModel.DataAnnotations;

namespace MailApi.Delivery.Smtp;

/// <summary>How to talk to the upstream relay (section <c>Smtp</c>).</summary>
public sealed class SmtpOptions
{
    public const string Section = "Smtp";

    [Required(AllowEmptyStrings = false)]
    public string Host { get; set; } = "127.0.0.1";

    [Range(1, 65535)]
    public int Port { get; set; } = 25;

    public SmtpSecurity Security { get; set; } = SmtpSecurity.StartTlsWhenAvailable;

    public string? Username { get; set; }
    public string? Password { get; set; }

    [Required(AllowEmptyStrings = false)]
    public string HeloName { get; set; } = "mailapi.local";

    /// <summary>Per-command timeout. RFC 5321 §4.5.3.2 allows the relay up to 10 minutes for the final reply.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:30:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Skip certificate validation: only for test relays with self-signed certificates.</summary>
    public bool AcceptAnyCertificate { get; set; }

    /// <summary>The domain of generated Message-IDs; the sender's domain when empty.</summary>
    public string? MessageIdDomain { get; set; }

    /// <summary>Connection reuse towards the relay (<c>Smtp:Pool</c>).</summary>
    public SmtpPoolOptions Pool { get; set; } = new();

    public bool HasCredentials => !string.IsNullOrEmpty(Username);

    /// <summary>The relay as shown in the resource's <c>upstream</c> field.</summary>
    public string Upstream => $"{Host}:{Port}";
}

/// <summary>
/// How connections to the relay are reused (section <c>Smtp:Pool</c>): one connection carries many messages,
/// so the handshake, greeting, EHLO, STARTTLS and AUTH are paid once per connection rather than once per message.
/// </summary>
public sealed class SmtpPoolOptions
{
    /// <summary>Reuse connections; <c>false</c> opens one connection per message and says QUIT after it (the naive way).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Connections open at once, in use or idle; 0 means as many as <c>Delivery:Workers</c>.</summary>
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
