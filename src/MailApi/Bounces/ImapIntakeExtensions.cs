using MailApi.Storage;
using MailKit.Net.Imap;
using MailKit.Security;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace MailApi.Bounces;

public static class ImapIntakeExtensions
{
    /// <summary>The IMAP reader of the bounce mailbox: its options, checked at start when a host is set, and the reader itself.</summary>
    public static WebApplicationBuilder AddImapIntake(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ImapIntakeOptions>().BindConfiguration(ImapIntakeOptions.Section)
            .Validate(o => Unset(o) || o.Port is >= 0 and <= 65535, "Bounces:Imap:Port must be between 0 and 65535 (0: 993 for SslOnConnect, else 143).")
            .Validate(o => Unset(o) || Enum.IsDefined(o.Security), "Bounces:Imap:Security must be one of " + string.Join(", ", Enum.GetNames<SecureSocketOptions>()) + ".")
            .Validate(o => Unset(o) || (!string.IsNullOrEmpty(o.Username) && !string.IsNullOrEmpty(o.Password)),
                "Bounces:Imap:Username and Bounces:Imap:Password are required with Bounces:Imap:Host.")
            .Validate(o => Unset(o) || o.PollInterval > TimeSpan.Zero, "Bounces:Imap:PollInterval must be positive.")
            .Validate(o => Unset(o) || new[] { o.Folder, o.ProcessedFolder, o.UnmatchedFolder }.All(IsFolderName),
                "Bounces:Imap:Folder, ProcessedFolder and UnmatchedFolder must be folder names (nesting with '/', no empty part).")
            .Validate(o => Unset(o) || new[] { o.Folder, o.ProcessedFolder, o.UnmatchedFolder }.Distinct(StringComparer.OrdinalIgnoreCase).Count() == 3,
                "Bounces:Imap:Folder, ProcessedFolder and UnmatchedFolder must be three different folders.")
            .ValidateOnStart();
        builder.Services.AddSingleton<IImapReaderLock>(services =>
            services.GetRequiredService<IOptions<StorageOptions>>().Value.Provider == StorageProvider.PostgreSql
                ? ActivatorUtilities.CreateInstance<PostgreSqlImapReaderLock>(services)
                : new LocalImapReaderLock());
        builder.Services.TryAddSingleton(new ImapExtensionsOff(ImapCapabilities.None));
        builder.Services.AddHostedService<ImapBounceReader>();
        return builder;
    }

    private static bool Unset(ImapIntakeOptions o) => string.IsNullOrEmpty(o.Host);

    private static bool IsFolderName(string? name) => !string.IsNullOrWhiteSpace(name) && name.Split('/').All(part => part.Trim().Length > 0);
}
