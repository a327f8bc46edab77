using MailApi.Auth;
using MailApi.Storage;
using MailApi.Ui;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace MailApi.Hosting;

/// <summary>Says where Swagger UI and the activity page are once the server listens, which dev key to use, and when production keeps messages in memory.</summary>
public sealed class StartupBanner(
    IServer server, IHostApplicationLifetime lifetime, IHostEnvironment environment, IConfiguration configuration,
    IOptions<ApiKeyOptions> keys, IOptions<StorageOptions> storage, ILogger<StartupBanner> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (environment.IsProduction() && storage.Value.Provider == StorageProvider.InMemory)
        {
            logger.LogWarning("Storage:Provider is InMemory in Production: every message, queued or not, is lost when the process stops. "
                + "Set Storage__Provider=PostgreSql and Storage__ConnectionString for a durable store.");
        }
        lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            var activityPage = ActivityPage.IsEnabled(configuration, environment);
            foreach (var address in addresses.Select(a => a.TrimEnd('/')))
            {
                logger.LogInformation("Swagger UI: {Address}/swagger", address);
                if (activityPage)
                {
                    logger.LogInformation("Activity page: {Address}{Path}/ (sign in with an API key)", address, ActivityPage.Path);
                }
            }
            if (environment.IsDevelopment() && keys.Value.ApiKeys.Any(k => k.Key == "mailapi-dev-key"))
            {
                logger.LogInformation("Development API key: mailapi-dev-key (Authorize in Swagger UI, or send 'X-Api-Key: mailapi-dev-key')");
            }
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
