using Hangfire;
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
            .Validate(o => o.Pool.MaxConnections is >= 0 and <= 1000, "Smtp:Pool:MaxConnections must be between 0 (as many as Delivery:Workers) and 1000.")
            .Validate(o => o.Pool.MaxMessagesPerConnection > 0, "Smtp:Pool:MaxMessagesPerConnection must be positive.")
            .Validate(o => o.Pool.IdleTimeout > TimeSpan.Zero, "Smtp:Pool:IdleTimeout must be positive.")
            .ValidateOnStart();
        builder.Services.AddOptions<DeliveryOptions>().BindConfiguration(DeliveryOptions.Section)
            .Validate(o => o.RetryDelays.All(d => d >= TimeSpan.Zero), "Delivery:RetryDelays must not be negative.")
            .Validate(o => o.MaxAge > TimeSpan.Zero, "Delivery:MaxAge must be positive.")
            .Validate(o => o.Workers is > 0 and <= 1000, "Delivery:Workers must be between 1 and 1000.")
            .Validate(o => o.SchedulePollingInterval >= TimeSpan.FromMilliseconds(100), "Delivery:SchedulePollingInterval must be at least 00:00:00.1.")
            .ValidateOnStart();

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<SmtpConnectionPool>();
        builder.Services.AddSingleton<SmtpDelivery>();
        builder.Services.AddTransient<DeliveryJob>();
        builder.Services.AddSingleton<IDeliveryQueue, HangfireDeliveryQueue>();

        // Our own storage instance rather than JobStorage.Current, so several hosts in one process (tests) stay apart.
        builder.Services.AddSingleton<JobStorage>(_ => new InMemoryStorage(new InMemoryStorageOptions()));
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
