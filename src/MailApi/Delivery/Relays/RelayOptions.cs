using System.Globalization;
using MailApi.Delivery.Smtp;
using MailApi.Messages;

namespace MailApi.Delivery.Relays;

/// <summary>
/// One upstream relay: how to connect to it, which senders it takes, where it stands among the others, and its limits.
/// An entry of the <c>Relays</c> list, or the <c>Smtp</c> section when no list is configured (<see cref="SmtpOptions"/>).
/// </summary>
public class RelayOptions
{
    /// <summary>The relay's name in attempts (<c>upstream</c>), logs and <c>/health/ready</c>; <c>Host:Port</c> when empty.</summary>
    public string Name { get; set; } = "";

    public string Host { get; set; } = "127.0.0.1";

    public int Port { get; set; } = 25;

    public SmtpSecurity Security { get; set; } = SmtpSecurity.StartTlsWhenAvailable;

    public string? Username { get; set; }
    public string? Password { get; set; }

    public string HeloName { get; set; } = "mailapi.local";

    /// <summary>Per-command timeout. RFC 5321 §4.5.3.2 allows the relay up to 10 minutes for the final reply.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Skip certificate validation: only for test relays with self-signed certificates.</summary>
    public bool AcceptAnyCertificate { get; set; }

    /// <summary>Relays with the lowest priority are tried first; the others are tried when they fail.</summary>
    public int Priority { get; set; }

    /// <summary>Among relays of one priority, how the first try is spread (0: only after the others of its priority).</summary>
    public int Weight { get; set; } = 1;

    /// <summary>Connections open at once to this relay; 0 means <c>Smtp:Pool:MaxConnections</c> (or <c>Delivery:Workers</c>).</summary>
    public int MaxConnections { get; set; }

    /// <summary>Messages handed to this relay per second by this instance; 0 means no limit. A message over it waits.</summary>
    public int MaxMessagesPerSecond { get; set; }

    /// <summary>The senders this relay takes: full addresses, <c>@domain</c> or <c>*</c>; none means every sender.</summary>
    public List<string> Senders { get; set; } = [];

    /// <summary>Relay failures in a row (connection, TLS, timeout, 421, a refused greeting, EHLO or AUTH) before it is paused.</summary>
    public int FailuresBeforePause { get; set; } = 3;

    /// <summary>How long a paused relay is skipped.</summary>
    public TimeSpan Pause { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Where the relay is configured (<c>Smtp</c> or <c>Relays:N</c>), so messages name the key to change.</summary>
    public string Key { get; private set; } = SmtpOptions.Section;

    public bool HasCredentials => !string.IsNullOrEmpty(Username);

    /// <summary>The relay as shown in the resource's <c>upstream</c> field.</summary>
    public string Upstream => string.IsNullOrEmpty(Name) ? $"{Host}:{Port}" : Name;

    /// <summary>The relay as error texts name it: its name and, when that is not its address, its address too.</summary>
    public string Described => string.IsNullOrEmpty(Name) || Name == $"{Host}:{Port}" ? $"{Host}:{Port}" : $"{Name} ({Host}:{Port})";

    /// <summary>Whether this relay takes mail from <paramref name="sender"/> (a bare address).</summary>
    public bool TakesSender(string sender) => Senders.Count == 0 || Senders.Any(pattern => Mailboxes.MatchesPattern(pattern, sender));

    /// <summary>Says where in configuration this relay is (<paramref name="key"/>, e.g. <c>Relays:2</c>).</summary>
    internal void PlaceAt(string key) => Key = key;

    /// <summary>What is wrong with these settings, each message naming its key under <see cref="Key"/>.</summary>
    public IEnumerable<string> Problems()
    {
        if (string.IsNullOrWhiteSpace(Host))
        {
            yield return $"{Key}:Host is required.";
        }
        if (Port is < 1 or > 65535)
        {
            yield return $"{Key}:Port must be between 1 and 65535.";
        }
        if (!Enum.IsDefined(Security))
        {
            yield return $"{Key}:Security must be None, StartTls, StartTlsWhenAvailable, SslOnConnect or Auto.";
        }
        if (HasCredentials && string.IsNullOrEmpty(Password))
        {
            yield return $"{Key}:Password is required when {Key}:Username is set.";
        }
        if (string.IsNullOrWhiteSpace(HeloName))
        {
            yield return $"{Key}:HeloName is required.";
        }
        if (Timeout < TimeSpan.FromSeconds(1) || Timeout > TimeSpan.FromMinutes(30))
        {
            yield return $"{Key}:Timeout must be between 00:00:01 and 00:30:00.";
        }
        if (Weight < 0)
        {
            yield return $"{Key}:Weight must be 0 or more.";
        }
        if (MaxConnections is < 0 or > 1000)
        {
            yield return $"{Key}:MaxConnections must be between 0 (Smtp:Pool:MaxConnections) and 1000.";
        }
        if (MaxMessagesPerSecond < 0)
        {
            yield return $"{Key}:MaxMessagesPerSecond must be 0 (no limit) or more.";
        }
        for (var i = 0; i < Senders.Count; i++)
        {
            if (!Mailboxes.IsPattern(Senders[i]))
            {
                yield return string.Create(CultureInfo.InvariantCulture,
                    $"{Key}:Senders:{i} '{Senders[i]}' is not a sender pattern: a full address, @domain or *.");
            }
        }
        if (FailuresBeforePause < 1)
        {
            yield return $"{Key}:FailuresBeforePause must be 1 or more.";
        }
        if (Pause <= TimeSpan.Zero)
        {
            yield return $"{Key}:Pause must be positive.";
        }
    }
}

/// <summary>The <c>Relays</c> list; when it has entries it replaces the single relay of the <c>Smtp</c> section.</summary>
public sealed class RelayListOptions
{
    public const string Section = "Relays";

    public List<RelayOptions> Relays { get; set; } = [];
}
