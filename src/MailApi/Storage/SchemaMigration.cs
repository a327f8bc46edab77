using Microsoft.Extensions.Options;

namespace MailApi.Storage;

/// <summary>
/// The start-up step that brings the PostgreSQL schema up to date. It runs in <see cref="StartingAsync"/>, which the host
/// calls on every lifecycle service before any hosted service starts: Kestrel, Hangfire's server and the sweeps all find
/// the tables there. In memory it does nothing.
/// </summary>
public sealed class SchemaMigration(IServiceProvider services, IOptions<StorageOptions> options) : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Provider == StorageProvider.PostgreSql)
        {
            await services.GetRequiredService<PostgreSqlDatabase>().MigrateAsync(cancellationToken);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
