using Hangfire;
using Hangfire.AspNetCore;
using Hangfire.Common;
using Hangfire.InMemory;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Hangfire.States;
using MailApi.Delivery.Dkim;
using MailApi.Delivery.Relays;
using MailApi.Delivery.Smtp;
using MailApi.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace MailApi.Delivery;

public static class DeliveryExtensions
{
    public static WebApplicationBuilder AddDelivery(this WebApplicationBuilder builder)
    {
        builder.AddRelays();
        builder.AddDkim();
        builder.Services.AddOptions<SmtpOptions>().BindConfiguration(SmtpOptions.Section)
            .Validate(o => o.Pool.MaxConnections is >= 0 and <= 1000, "Smtp:Pool:MaxConnections must be between 0 (as many as Delivery:Workers) and 1000.")
            .Validate(o => o.Pool.MaxMessagesPerConnection > 0, "Smtp:Pool:MaxMessagesPerConnection must be positive.")
            .Validate(o => o.Pool.IdleTimeout > TimeSpan.Zero, "Smtp:Pool:IdleTimeout must be positive.")
            .ValidateOnStart();
        builder.Services.AddOptions<DeliveryOptions>().BindConfiguration(DeliveryOptions.Section)
            .Validate(o => o.RetryDelays.All(d => d >= TimeSpan.Zero), "Delivery:RetryDelays must not be negative.")
            .Validate(o => o.MaxAge > TimeSpan.Zero, "Delivery:MaxAge must be positive.")
            .Validate(o => o.Workers is > 0 and <= 1000, "Delivery:Workers must be between 1 and 1000.")
            .Validate(o => o.SchedulePollingInterval >= TimeSpan.FromMilliseconds(100), "Delivery:SchedulePollingInterval must be at least 00:00:00.1.")
            .Validate(o => o.HeartbeatInterval > TimeSpan.Zero && o.InstanceTimeout > 2 * o.HeartbeatInterval,
                "Delivery:InstanceTimeout must be more than twice Delivery:HeartbeatInterval.")
            .Validate(o => o.SweepInterval > TimeSpan.Zero, "Delivery:SweepInterval must be positive.")
            .Validate(o => o.MessagesPerJob is null or (>= 1 and <= 1000), "Delivery:MessagesPerJob must be between 1 and 1000.")
            .ValidateOnStart();

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<SmtpDelivery>();
        builder.Services.AddSingleton<WorkerIdentity>();
        builder.Services.AddSingleton<InFlightMessages>();
        builder.Services.AddSingleton<BusyWorkers>();
        builder.Services.AddSingleton<QueueProgress>();
        builder.Services.AddTransient<DeliveryJob>();
        builder.Services.AddSingleton<IDeliveryQueue, HangfireDeliveryQueue>();

        // Our own storage instance rather than JobStorage.Current, so several hosts in one process (tests) stay apart.
        builder.Services.AddSingleton<JobStorage>(JobStorageFor);
        // Likewise the activator: Hangfire's default is the static JobActivator.Current, which the last host to start
        // sets, so a job could be run with another host's services (and its store).
        builder.Services.AddSingleton<JobActivator>(services => new AspNetCoreJobActivator(services.GetRequiredService<IServiceScopeFactory>()));
        builder.Services.AddHangfire(_ => { });
        // Hangfire's global configuration is the process's, set once (Hosting.ProcessWide). AddHangfire's own marker would
        // set its static log provider and activator from each host's services as it starts, racing the other hosts of a
        // test run; this one only hands out the configuration.
        builder.Services.Replace(ServiceDescriptor.Singleton<IGlobalConfiguration>(GlobalConfiguration.Configuration));
        // The process's filters, and this host's counts of waiting jobs and busy workers (a global filter would count every
        // host's jobs).
        builder.Services.AddSingleton<WorkerCountsFilter>();
        builder.Services.Replace(ServiceDescriptor.Singleton<IJobFilterProvider>(services =>
            new JobFilterProviderCollection(JobFilterProviders.Providers, new JobFilterCollection { services.GetRequiredService<WorkerCountsFilter>() })));
        builder.Services.AddHangfireServer((services, server) =>
        {
            var delivery = services.GetRequiredService<IOptions<DeliveryOptions>>().Value;
            server.WorkerCount = delivery.Workers;
            server.SchedulePollingInterval = delivery.SchedulePollingInterval;
        });
        return builder;
    }

    /// <summary>
    /// Hangfire beside the messages: in memory, or in the same PostgreSQL database (schema <c>hangfire</c>), tuned so a
    /// new job starts within a second (a 500 ms queue poll instead of 15 s) and a job of a killed instance is
    /// fetched again after 5 minutes (the orphan sweep re-queues its message sooner).
    /// </summary>
    private static JobStorage JobStorageFor(IServiceProvider services)
    {
        if (services.GetRequiredService<IOptions<StorageOptions>>().Value.Provider != StorageProvider.PostgreSql)
        {
            return new InMemoryStorage(new InMemoryStorageOptions());
        }
        var database = services.GetRequiredService<PostgreSqlDatabase>();
        var options = new PostgreSqlStorageOptions
        {
            SchemaName = "hangfire",
            PrepareSchemaIfNecessary = true,
            // Long polling (LISTEN/NOTIFY) can leave jobs enqueued and unfetched for 30 s and more with two instances
            // (Hangfire.PostgreSql issue #410); a short poll is slower on paper and reliable.
            EnableLongPolling = false,
            QueuePollInterval = TimeSpan.FromMilliseconds(500),
            InvisibilityTimeout = TimeSpan.FromMinutes(5),
            UseSlidingInvisibilityTimeout = true,
            DistributedLockTimeout = TimeSpan.FromSeconds(30),
        };
        // Hangfire's own commits need not wait for the disk: a job row lost in a crash is made again by the orphan sweep,
        // because the message it delivers was committed durably before its 202.
        var hangfire = new NpgsqlConnectionStringBuilder(database.ConnectionString);
        hangfire.Options = $"{hangfire.Options} -c synchronous_commit=off".Trim();
        hangfire.MaxPoolSize = services.GetRequiredService<IOptions<StorageOptions>>().Value.HangfireConnections;
        return new PostgreSqlStorage(new NpgsqlConnectionFactory(hangfire.ConnectionString, options), options);
    }
}
