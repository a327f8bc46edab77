namespace MailApi.Delivery.Relays;

/// <summary>
/// A read-only view of the configured relays and whether each is paused, for health reports and gauges
/// (a singleton; <see cref="Snapshot"/> is cheap and safe from any thread).
/// </summary>
public interface IRelayStates
{
    /// <summary>Every relay in configuration order, as it stands now.</summary>
    IReadOnlyList<RelayState> Snapshot();
}

/// <summary>One relay's state: its name, until when it is skipped (null: not paused), and its failures in a row.</summary>
public sealed record RelayState(string Name, DateTimeOffset? PausedUntil, int ConsecutiveFailures);
