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
            builder.Services.AddSingleton<CaptureRelay>();
            builder.Services.AddHostedService(services => services.GetRequiredService<CaptureRelay>());
        }

        return builder;
    }
}
