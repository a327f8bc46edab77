using MailApi.Delivery.Smtp;
using Microsoft.Extensions.Options;

namespace MailApi.DevRelay;

/// <summary>Registers the embedded capture relay.</summary>
public static class DevRelayExtensions
{
    /// <summary>
    /// Binds <see cref="DevRelayOptions"/> from the <c>DevRelay</c> section and, when <c>DevRelay:Enabled</c> is
    /// true, registers <see cref="CaptureRelay"/> as a singleton and as a hosted service, so it is listening
    /// before the web server starts. A relative <c>DevRelay:Folder</c> is resolved against the content root.
    /// </summary>
    public static WebApplicationBuilder AddDevRelay(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);

        var section = builder.Configuration.GetSection(DevRelayOptions.SectionName);
        builder.Services.AddOptions<DevRelayOptions>()
            .Bind(section)
            .PostConfigure(options =>
            {
                var folder = string.IsNullOrWhiteSpace(options.Folder) ? "captured-mail" : options.Folder;
                options.Folder = Path.GetFullPath(folder, builder.Environment.ContentRootPath);
            })
            .Validate(options => options.Port is >= 0 and <= 65535, "DevRelay:Port must be between 0 and 65535.")
            .ValidateOnStart();

        if (section.GetValue<bool>(nameof(DevRelayOptions.Enabled)))
        {
            builder.Services.AddSingleton<DevBounces>();
            builder.Services.AddSingleton<CaptureRelay>();
            builder.Services.AddHostedService(services => services.GetRequiredService<CaptureRelay>());
            // The relay is the upstream: deliveries go to it in plain text, without AUTH.
            builder.Services.AddOptions<SmtpOptions>()
                .Configure<IOptions<DevRelayOptions>>((smtp, relay) =>
                {
                    smtp.Host = DevRelayOptions.Host;
                    smtp.Port = relay.Value.Port;
                    smtp.Security = SmtpSecurity.None;
                    smtp.Username = null;
                    smtp.Password = null;
                });
            builder.Services.AddOptions<DevRelayOptions>()
                .Validate(o => o.Port > 0, "DevRelay:Port must be a fixed port (1-65535) when the service delivers to the relay.");
        }

        return builder;
    }
}
