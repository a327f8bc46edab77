using MailApi.Storage;
using MailApi.Tests.Infrastructure;
using MailApi.Webhooks.Events;
using Microsoft.Extensions.DependencyInjection;

namespace MailApi.Tests.Webhooks;

/// <summary>
/// The service's event outbox, wrapped so that a test can make it lose what it is handed: what an instance that dies
/// between writing an event and queueing its dispatch leaves behind.
/// </summary>
public sealed class LosingOutbox
{
    public volatile bool Losing;

    /// <summary>Wraps the service's registered outbox (a <see cref="MailApiFactory.TestServices"/> step).</summary>
    public void Install(IServiceCollection services)
    {
        var registered = services.Last(d => d.ServiceType == typeof(IEventOutbox));
        services.Remove(registered);
        services.AddSingleton<IEventOutbox>(provider =>
            new Wrapper(this, (IEventOutbox)ActivatorUtilities.CreateInstance(provider, registered.ImplementationType!)));
    }

    private sealed class Wrapper(LosingOutbox owner, IEventOutbox inner) : IEventOutbox
    {
        public void Recorded(StoredMessage message)
        {
            if (!owner.Losing)
            {
                inner.Recorded(message);
            }
        }
    }
}
