using System.Diagnostics.Metrics;
using MailApi.Delivery.Relays;

namespace MailApi.Telemetry;

/// <summary>
/// <c>mailapi_relay_paused{relay}</c>: 1 while a relay is skipped after <c>FailuresBeforePause</c> failures in a row, 0
/// otherwise, read from the relays' own state at each scrape (no store, no I/O).
/// </summary>
public sealed class RelayGauge
{
    public RelayGauge(IMeterFactory meters, IRelayStates relays, TimeProvider clock)
    {
        meters.Create(MailApiMetrics.MeterName).CreateObservableGauge("mailapi.relay.paused", () =>
        {
            var now = clock.GetUtcNow();
            return relays.Snapshot().Select(r =>
                new Measurement<int>(r.PausedUntil > now ? 1 : 0, new KeyValuePair<string, object?>("relay", r.Name)));
        }, "{relay}", "1 while the relay is paused (skipped after Relays:N:FailuresBeforePause failures in a row), else 0.");
    }
}
