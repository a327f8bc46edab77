using System.Text.Json;
using System.Text.Json.Serialization;
using MailApi.Auth;
using MailApi.Delivery;
using MailApi.DevRelay;
using MailApi.Messages;
using MailApi.Storage;

namespace MailApi.Hosting;

/// <summary>Wires the features together: what Program.cs calls.</summary>
public static class HostingExtensions
{
    public static WebApplicationBuilder AddMailApi(this WebApplicationBuilder builder)
    {
        builder.AddDevelopmentDefaults();
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = ProblemDefaults.FillDetail);
        builder.Services.ConfigureHttpJsonOptions(o => ConfigureJson(o.SerializerOptions));
        builder.AddApiKeyAuth();
        builder.AddMessages();
        builder.AddStorage();
        builder.AddDelivery();
        builder.AddDevRelay();
        builder.AddOpenApiDocs();
        builder.Services.AddHostedService<StartupBanner>();
        return builder;
    }

    public static WebApplication MapMailApi(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRequestSizeLimit();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapOpenApiDocs();
        app.MapMessages();
        app.MapHealth();
        app.MapDeliveryDashboard();
        return app;
    }

    /// <summary>camelCase, enums as snake_case strings, and strict input: duplicate keys are an error.</summary>
    public static void ConfigureJson(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false));
        options.AllowDuplicateProperties = false;
    }

    /// <summary>
    /// In Development the service runs with nothing configured: the capture relay and the dev key
    /// <c>mailapi-dev-key</c> (any sender). They sit below every other source, so configuration still wins.
    /// </summary>
    private static void AddDevelopmentDefaults(this WebApplicationBuilder builder)
    {
        if (!builder.Environment.IsDevelopment())
        {
            return;
        }
        var defaults = new Dictionary<string, string?>
        {
            ["DevRelay:Enabled"] = "true",
            ["Auth:ApiKeys:0:Name"] = "dev",
            ["Auth:ApiKeys:0:Key"] = "mailapi-dev-key",
            ["Auth:ApiKeys:0:AllowedSenders:0"] = "*",
        };
        builder.Configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource { InitialData = defaults });
    }
}
