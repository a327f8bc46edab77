namespace MailApi.Housekeeping;

/// <summary>
/// What runs beside the requests and the jobs: the heartbeat and orphan sweep (no message is left without a job) and
/// retention (finished messages lose their content, then go).
/// </summary>
public static class HousekeepingExtensions
{
    public static WebApplicationBuilder AddHousekeeping(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.Section)
            .Validate(o => o.ContentAfter > TimeSpan.Zero && o.DeleteAfter >= o.ContentAfter,
                "Retention:DeleteAfter must be at least Retention:ContentAfter, and both positive.")
            .Validate(o => o.Interval > TimeSpan.Zero, "Retention:Interval must be positive.")
            .ValidateOnStart();
        builder.Services.AddHostedService<RetentionService>();
        builder.Services.AddHostedService<OrphanSweeper>();
        return builder;
    }
}
