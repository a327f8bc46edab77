using MailApi.Storage;
using Microsoft.Extensions.Options;

namespace MailApi.Suppressions;

public static class SuppressionsExtensions
{
    public static WebApplicationBuilder AddSuppressions(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<SuppressionOptions>().BindConfiguration(SuppressionOptions.Section)
            .Validate(o => o.SoftBouncesBeforeSuppress >= 1, "Suppressions:SoftBouncesBeforeSuppress must be at least 1.")
            .Validate(o => o.SoftBounceExpiry > TimeSpan.Zero, "Suppressions:SoftBounceExpiry must be positive.")
            .ValidateOnStart();
        var durable = (IServiceProvider services) => services.GetRequiredService<IOptions<StorageOptions>>().Value.Provider == StorageProvider.PostgreSql;
        builder.Services.AddSingleton<ISuppressionStore>(services =>
            durable(services) ? ActivatorUtilities.CreateInstance<PostgreSqlSuppressionStore>(services) : new InMemorySuppressionStore());
        builder.Services.AddSingleton<ISoftBounceStore>(services =>
            durable(services) ? ActivatorUtilities.CreateInstance<PostgreSqlSoftBounceStore>(services) : new InMemorySoftBounceStore());
        builder.Services.AddSingleton<SuppressionCheck>();
        builder.Services.AddSingleton<SuppressionList>();
        builder.Services.AddSingleton<SoftBounces>();
        builder.Services.AddSingleton<SuppressionGauge>();
        builder.Services.AddHostedService(services => services.GetRequiredService<SuppressionGauge>());
        return builder;
    }
}
