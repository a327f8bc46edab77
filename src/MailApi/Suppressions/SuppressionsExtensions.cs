using MailApi.Storage;
using Microsoft.Extensions.Options;

namespace MailApi.Suppressions;

public static class SuppressionsExtensions
{
    public static WebApplicationBuilder AddSuppressions(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ISuppressionStore>(services =>
            services.GetRequiredService<IOptions<StorageOptions>>().Value.Provider == StorageProvider.PostgreSql
                ? ActivatorUtilities.CreateInstance<PostgreSqlSuppressionStore>(services)
                : new InMemorySuppressionStore());
        builder.Services.AddSingleton<SuppressionCheck>();
        builder.Services.AddSingleton<SuppressionList>();
        builder.Services.AddSingleton<SuppressionGauge>();
        builder.Services.AddHostedService(services => services.GetRequiredService<SuppressionGauge>());
        return builder;
    }
}
