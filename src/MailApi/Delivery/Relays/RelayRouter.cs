using MailApi.Delivery.Smtp;
using Microsoft.Extensions.Options;

namespace MailApi.Delivery.Relays;

/// <summary>
/// The configured relays (the <c>Relays</c> list, or the one relay of <c>Smtp</c>) and the order in which a message
/// tries them: the relays whose <see cref="RelayOptions.Senders"/> take its sender, lowest
/// <see cref="RelayOptions.Priority"/> first; among relays of one priority the first is chosen by smooth weighted
/// round robin (as nginx spreads upstreams: weights 3 and 1 give A A B A, A A B A…), the rest follow by weight.
/// Paused relays are left out while any other relay for the sender is not paused.
/// </summary>
public sealed class RelayRouter : IRelayStates, IAsyncDisposable
{
    private readonly Lock _gate = new();
    // Smooth weighted round robin: each relay's current weight, by index in Relays.
    private readonly int[] _current;

    public RelayRouter(IOptions<SmtpOptions> smtp, IOptions<RelayListOptions> list, IOptions<DeliveryOptions> delivery,
        TimeProvider clock, ILoggerFactory loggers)
    {
        IEnumerable<RelayOptions> configured = list.Value.Relays.Count > 0 ? list.Value.Relays : [smtp.Value];
        Relays = configured.Select(r => new Relay(r, smtp.Value.Pool, delivery.Value.Workers, clock, loggers)).ToList();
        _current = new int[Relays.Count];
    }

    /// <summary>Every relay, in configuration order.</summary>
    public IReadOnlyList<Relay> Relays { get; }

    /// <summary>The relays to try for a message from <paramref name="sender"/>, in order; empty when none takes the sender.</summary>
    public IReadOnlyList<Relay> Route(string sender)
    {
        var ordered = new List<Relay>();
        var candidates = Enumerable.Range(0, Relays.Count).Where(i => Relays[i].Options.TakesSender(sender)).ToList();
        foreach (var group in candidates.GroupBy(i => Relays[i].Options.Priority).OrderBy(g => g.Key))
        {
            var members = group.ToList();
            var first = PickWeighted(members);
            if (first is { } chosen)
            {
                ordered.Add(Relays[chosen]);
            }
            ordered.AddRange(members.Where(i => i != first).OrderByDescending(i => Relays[i].Options.Weight).Select(i => Relays[i]));
        }
        var active = ordered.Where(r => r.PausedUntil is null).ToList();
        // Every relay for the sender is paused: rather than hold the message without a word, try them, soonest back first.
        return active.Count > 0 ? active : ordered.OrderBy(r => r.PausedUntil).ToList();
    }

    public IReadOnlyList<RelayState> Snapshot() =>
        Relays.Select(r => new RelayState(r.Name, r.PausedUntil, r.ConsecutiveFailures)).ToList();

    public async ValueTask DisposeAsync()
    {
        foreach (var relay in Relays)
        {
            await relay.DisposeAsync();
        }
    }

    /// <summary>One step of smooth weighted round robin among <paramref name="members"/>; null when all weigh 0.</summary>
    private int? PickWeighted(List<int> members)
    {
        var total = members.Sum(i => Relays[i].Options.Weight);
        if (total == 0)
        {
            return null;
        }
        lock (_gate)
        {
            var best = -1;
            foreach (var i in members)
            {
                _current[i] += Relays[i].Options.Weight;
                if (best < 0 || _current[i] > _current[best])
                {
                    best = i;
                }
            }
            _current[best] -= total;
            return best;
        }
    }
}
