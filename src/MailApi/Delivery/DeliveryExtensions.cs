using Hangfire;
using Hangfire.AspNetCore;
using Hangfire.InMemory;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace MailApi.Delivery;

public static class DeliveryExtensions
{
    public static WebApplicationBuilder AddDelivery(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<SmtpOptions>().BindConfiguration(SmtpOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => Enum.IsDefined(o.Security), "Smtp:Security must be None, StartTls, StartTlsWhenAvailable, SslOnConnect or Auto.")
            .Validate(o => !o.HasCredentials || !string.IsNullOrEmpty(o.Password), "Smtp:Password is required when Smtp:Username is set.")
            .ValidateOnStart();
        builder.Services.AddOptions<DeliveryOptions>().BindConfiguration(DeliveryOptions.Section)
            .Validate(o => o.RetryDelays.All(d => d >= TimeSpan.Zero), "Delivery:RetryDelays must not be negative.")
            .Validate(o => o.MaxAge > TimeSpan.Zero, "Delivery:MaxAge must be positive.")
            .Validate(o => o.Workers is > 0 and <= 1000, "Delivery:Workers must be between 1 and 1000.")
            .Validate(o => o.SchedulePollingInterval >= TimeSpan.FromMilliseconds(100), "Delivery:SchedulePollingInterval must be at least 00:00:00.1.")
            .ValidateOnStart();

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<SmtpDelivery>();
        builder.Services.AddTransient<DeliveryJob>();
        builder.Services.AddSingleton<IDeliveryQueue, HangfireDeliveryQueue>();

        // Our own storage instance rather than JobStorage.Current, so several hosts in one process (tests) stay apart.
        builder.Services.AddSingleton<JobStorage>(_ => new InMemoryStorage(new InMemoryStorageOptions()));
        // Likewise our own activator: AddHangfire registers the static JobActivator.Current, which every host's
        // start-up overwrites; two hosts starting together could then run one's jobs in the other's services
        // (its store: "not in the store; nothing to deliver", and the message stayed queued).
        builder.Services.AddSingleton<JobActivator>(services => new AspNetCoreJobActivator(services.GetRequiredService<IServiceScopeFactory>()));
        builder.Services.AddHangfire(config => config
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings());
        builder.Services.AddHangfireServer((services, server) =>
        {
            var delivery = services.GetRequiredService<IOptions<DeliveryOptions>>().Value;
            server.WorkerCount = delivery.Workers;
            server.SchedulePollingInterval = delivery.SchedulePollingInterval;
        });
        return builder;
    }

    /// <summary>The Hangfire dashboard at <c>/hangfire</c>; its default filter lets local requests only.</summary>
    public static WebApplication MapDeliveryDashboard(this WebApplication app)
    {
        app.MapHangfireDashboard("/hangfire");
        return app;
    }
}
