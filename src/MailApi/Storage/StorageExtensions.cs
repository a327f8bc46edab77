using MailApi.Webhooks.Events;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace MailApi.Storage;

public static class StorageExtensions
{
    public static WebApplicationBuilder AddStorage(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.Section)
            .Validate(o => Enum.IsDefined(o.Provider), "Storage:Provider must be InMemory or PostgreSql.")
            .Validate(o => o.Provider != StorageProvider.PostgreSql || !string.IsNullOrWhiteSpace(o.ConnectionString),
                "Storage:ConnectionString is required when Storage:Provider is PostgreSql.")
            .Validate(o => o.MaxConnections is >= 4 and <= 1000, "Storage:MaxConnections must be between 4 and 1000.")
            .Validate(o => o.InMemory.MaxMessages >= 1, "Storage:InMemory:MaxMessages must be at least 1.")
            .ValidateOnStart();
        builder.Services.AddSingleton<PostgreSqlDatabase>();
        builder.Services.AddHostedService<SchemaMigration>();
        // Chosen when first resolved, from the bound options, so every configuration source counts. Every writer of
        // messages goes through the event-recording store, so a status change and its event are one write.
        builder.Services.AddSingleton<IMessageStore>(services =>
        {
            var options = services.GetRequiredService<IOptions<StorageOptions>>().Value;
            return new EventRecordingStore(
                options.Provider == StorageProvider.PostgreSql
                    ? ActivatorUtilities.CreateInstance<PostgreSqlMessageStore>(services)
                    : new InMemoryMessageStore(options.InMemory.MaxMessages),
                services.GetRequiredService<IEventOutbox>());
        });
        builder.Services.AddHealthChecks().AddCheck<StorageHealthCheck>("storage", tags: ["ready"]);
        return builder;
    }
}

/// <summary>Ready when the message store answers.</summary>
public sealed class StorageHealthCheck(IMessageStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            return await store.IsReadyAsync(cancellationToken)
                ? HealthCheckResult.Healthy("The message store answers.")
                : HealthCheckResult.Unhealthy("The message store is not ready.");
        }
        catch (Exception ex)
        {
            return HealthCheckResult.Unhealthy("The message store failed: " + ex.GetType().Name);
        }
    }
}
