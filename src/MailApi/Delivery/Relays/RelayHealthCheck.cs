using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace MailApi.Delivery.Relays;

/// <summary>
/// The relays in <c>/health/ready</c>: each by name, <c>up</c> or paused until when; <c>Degraded</c> while any is paused
/// (still ready: messages go to the other relays, or wait for the paused one).
/// </summary>
public sealed class RelayHealthCheck(IRelayStates relays) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var states = relays.Snapshot();
        var data = states.ToDictionary(s => s.Name, s => (object)(s.PausedUntil is { } until
            ? string.Create(CultureInfo.InvariantCulture, $"paused until {until.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}")
            : "up"));
        var paused = states.Where(s => s.PausedUntil is not null).Select(s => s.Name).ToList();
        return Task.FromResult(paused.Count == 0
            ? HealthCheckResult.Healthy($"{states.Count} relay(s), none paused.", data)
            : HealthCheckResult.Degraded($"{paused.Count} of {states.Count} relay(s) paused: {string.Join(", ", paused)}.", data: data));
    }
}
