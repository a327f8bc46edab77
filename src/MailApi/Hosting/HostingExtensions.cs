using MailApi.Auth;
using MailApi.Bounces;
using MailApi.Delivery;
using MailApi.DevRelay;
using MailApi.Housekeeping;
using MailApi.Http;
using MailApi.Messages;
using MailApi.OpenApi;
using MailApi.Storage;
using MailApi.Suppressions;
using MailApi.Telemetry;
using MailApi.Ui;
using MailApi.Webhooks;

namespace MailApi.Hosting;

/// <summary>Wires the features together: what Program.cs calls.</summary>
public static class HostingExtensions
{
    public static WebApplicationBuilder AddMailApi(this WebApplicationBuilder builder)
    {
        builder.AddDevelopmentDefaults();
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = ProblemDefaults.FillDetail);
        builder.Services.AddSingleton<IProblemDetailsWriter, ProblemJsonFallback>();
        builder.Services.AddExceptionHandler<StorageOutageHandler>();
        builder.Services.AddExceptionHandler<BadRequestHandler>();
        // Unbindable values throw in every environment, not only in Development, so they get one answer (BadRequestHandler).
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.ConfigureHttpJsonOptions(o => ApiJson.Configure(o.SerializerOptions));
        builder.AddApiKeyAuth();
        builder.AddMessages();
        builder.AddStorage();
        builder.AddWebhooks();
        builder.AddSuppressions();
        builder.AddBounces();
        builder.AddDelivery();
        builder.AddHousekeeping();
        builder.AddDevRelay();
        builder.AddOpenApiDocs();
        builder.AddDashboard();
        builder.AddTelemetry();
        builder.Services.AddHostedService<StartupBanner>();
        return builder;
    }

    public static WebApplication MapMailApi(this WebApplication app)
    {
        app.UseSecurityHeaders();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRequestSizeLimit();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        app.MapOpenApiDocs();
        app.MapMessages();
        app.MapWebhooks();
        app.MapSuppressions();
        app.MapBounces();
        app.MapHealth();
        app.MapTelemetry();
        app.MapDashboard();
        app.MapActivityPage();
        return app;
    }

    /// <summary>
    /// In Development the service runs with nothing configured: the capture relay (a setting below every other source,
    /// so configuration still wins) and the dev key <c>mailapi-dev-key</c> (any sender). The key is added only when no
    /// source configures any key: as a setting it would merge with configured keys by index (a configured key 0 would
    /// take its secret or its <c>*</c>).
    /// </summary>
    private static void AddDevelopmentDefaults(this WebApplicationBuilder builder)
    {
        if (!builder.Environment.IsDevelopment())
        {
            return;
        }
        builder.Configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?> { ["DevRelay:Enabled"] = "true" },
        });
        builder.Services.PostConfigure<ApiKeyOptions>(options =>
        {
            if (options.ApiKeys.Count == 0)
            {
                options.ApiKeys.Add(new ApiKey { Name = "dev", Key = "mailapi-dev-key", AllowedSenders = ["*"], Bounces = true });
            }
        });
    }
}
