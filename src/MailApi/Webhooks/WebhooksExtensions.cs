using MailApi.Storage;
using MailApi.Webhooks.Events;

namespace MailApi.Webhooks;

public static class WebhooksExtensions
{
    public static WebApplicationBuilder AddWebhooks(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IEventOutbox, NoOutbox>();
        // Every writer of messages goes through the event-recording store (see EventRecordingStore for why there).
        var plain = builder.Services.Last(d => d.ServiceType == typeof(IMessageStore));
        builder.Services.Remove(plain);
        builder.Services.AddSingleton<IMessageStore>(services =>
            new EventRecordingStore((IMessageStore)plain.ImplementationFactory!(services), services.GetRequiredService<IEventOutbox>()));
        return builder;
    }

    public static WebApplication MapWebhooks(this WebApplication app)
    {
        app.MapMessageEvents();
        return app;
    }

    private sealed class NoOutbox : IEventOutbox
    {
        public void Recorded(StoredMessage message)
        {
        }
    }
}
