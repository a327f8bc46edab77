using MailApi.Storage;
using MailApi.Webhooks.Events;
using Microsoft.Extensions.Options;

namespace MailApi.Webhooks;

public static class WebhooksExtensions
{
    public static WebApplicationBuilder AddWebhooks(this WebApplicationBuilder builder)
    {
        var development = builder.Environment.IsDevelopment();
        builder.Services.AddOptions<WebhookOptions>()
            // Before the binding, so configuration still wins: local receivers are the point of Development.
            .Configure(o => o.AllowPrivateTargets = development)
            .BindConfiguration(WebhookOptions.Section)
            .Validate(o => o.Timeout > TimeSpan.Zero, "Webhooks:Timeout must be positive.")
            .Validate(o => o.RetryDelays.All(d => d >= TimeSpan.Zero), "Webhooks:RetryDelays must not be negative.")
            .Validate(o => o.SecretOverlap >= TimeSpan.Zero, "Webhooks:SecretOverlap must not be negative.")
            .Validate(o => o.SweepInterval > TimeSpan.Zero, "Webhooks:SweepInterval must be positive.")
            .ValidateOnStart();

        builder.Services.AddSingleton<IWebhookStore>(services =>
            services.GetRequiredService<IOptions<StorageOptions>>().Value.Provider == StorageProvider.PostgreSql
                ? ActivatorUtilities.CreateInstance<PostgreSqlWebhookStore>(services)
                : new InMemoryWebhookStore());
        builder.Services.AddSingleton<IWebhookQueue, HangfireWebhookQueue>();
        builder.Services.AddSingleton<IEventOutbox, HangfireEventOutbox>();
        builder.Services.AddTransient<WebhookDispatcher>();
        builder.Services.AddTransient<WebhookDeliveryJob>();
        builder.Services.AddSingleton<WebhookHttp>();
        builder.Services.AddHttpClient(WebhookHttp.ClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(services => WebhookHttp.CreateHandler(services.GetRequiredService<IOptionsMonitor<WebhookOptions>>()))
            // A receiver that is down is an answer, not an error of ours: the job logs each try and the delivery log keeps it.
            .RemoveAllLoggers();
        builder.Services.AddHostedService<WebhookSweeper>();
        builder.Services.AddSingleton<WebhookOwners>();
        builder.Services.AddHostedService<WebhookOwnersRefresh>();
        builder.Services.AddHostedService<WebhookRetention>();

        return builder;
    }

    public static WebApplication MapWebhooks(this WebApplication app)
    {
        app.MapMessageEvents();
        app.MapMessageDeliveries();
        app.MapWebhookEndpoints();
        return app;
    }
}
