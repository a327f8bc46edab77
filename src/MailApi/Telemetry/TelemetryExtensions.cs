using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace MailApi.Telemetry;

/// <summary>
/// Metrics at <c>/metrics</c> (Prometheus text, open like <c>/health</c>) and traces, exported over OTLP when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (with the logs, which then carry the trace and the message id).
/// </summary>
public static class TelemetryExtensions
{
    /// <summary>ASP.NET Core's own meters: <c>http.server.request.duration</c> and Kestrel's connections.</summary>
    private static readonly string[] FrameworkMeters = ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime"];

    public static WebApplicationBuilder AddTelemetry(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<MetricsOptions>().BindConfiguration(MetricsOptions.Section)
            .Validate(o => o.QueueDepthInterval >= TimeSpan.FromMilliseconds(100), "Metrics:QueueDepthInterval must be at least 00:00:00.1.")
            .ValidateOnStart();
        builder.Services.AddSingleton<MailApiMetrics>();
        builder.Services.AddSingleton<QueueDepth>();
        builder.Services.AddSingleton<RelayGauge>();
        builder.Services.AddHostedService(services => services.GetRequiredService<QueueDepth>());

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("mailapi"))
            .WithMetrics(metrics => metrics
                .AddMeter(MailApiMetrics.MeterName, MailKit.Telemetry.SmtpClient.MeterName)
                .AddMeter(FrameworkMeters)
                .AddPrometheusExporter());
        // Spans only when something receives them: without an endpoint nothing samples them, so no span is made, no
        // job carries a trace context and a dialogue costs nothing more. Decided while the services are registered, so
        // from what the builder has read by then: the environment, appsettings.json and the command line (a test
        // host's later settings come too late; that test runs the service as a process).
        if (!string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            telemetry
                .WithTracing(tracing => tracing
                    .AddSource(MailApiTracing.SourceName, MailKit.Telemetry.SmtpClient.ActivitySourceName)
                    // Scrapes and probes would be most of the spans and say nothing.
                    .AddAspNetCoreInstrumentation(o => o.Filter = context => !IsOperations(context.Request.Path)))
                .WithLogging(configureBuilder: null, configureOptions: o => o.IncludeScopes = true)
                .UseOtlpExporter();
        }
        return builder;
    }

    public static WebApplication MapTelemetry(this WebApplication app)
    {
        app.MapPrometheusScrapingEndpoint().WithTags("Operations");
        // An observable gauge exists once its owner does.
        app.Services.GetRequiredService<RelayGauge>();
        // A measurement no provider hears is lost: the provider must exist before the counters' zero series are added
        // (the scraping endpoint's middleware has built it; asking here keeps that true whatever the order above).
        app.Services.GetRequiredService<MeterProvider>();
        app.Services.GetRequiredService<MailApiMetrics>().StartAtZero();
        return app;
    }

    private static bool IsOperations(PathString path) =>
        path.StartsWithSegments("/metrics") || path.StartsWithSegments("/health");
}
