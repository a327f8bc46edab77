using System.Text;
using MailApi.Storage;
using Microsoft.Extensions.Options;

namespace MailApi.Bounces;

public static class BouncesExtensions
{
    public static WebApplicationBuilder AddBounces(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<BounceOptions>().BindConfiguration(BounceOptions.Section)
            .Validate(o => string.IsNullOrEmpty(o.ReturnPath) || Encoding.UTF8.GetByteCount(o.TokenSecret ?? "") >= 32,
                "Bounces:TokenSecret must be at least 32 bytes when Bounces:ReturnPath is set.")
            .Validate(o => string.IsNullOrEmpty(o.ReturnPath) || IsReturnPath(o), "Bounces:ReturnPath must be an address "
                + "(with {token} in its local part, or without it to have Bounces:TokenDelimiter and the token added), whose local part is at most 64 characters with the token.")
            .Validate(o => o.TokenDelimiter is "+" or "-" or "=", "Bounces:TokenDelimiter must be +, - or =.")
            .Validate(o => o.MatchWindow > TimeSpan.Zero, "Bounces:MatchWindow must be positive.")
            .Validate(o => o.MaxReportBytes > 0, "Bounces:MaxReportBytes must be positive.")
            .Validate(o => o.Retention > TimeSpan.Zero, "Bounces:Retention must be positive.")
            .ValidateOnStart();
        builder.Services.AddSingleton<IBounceStore>(services =>
            services.GetRequiredService<IOptions<StorageOptions>>().Value.Provider == StorageProvider.PostgreSql
                ? ActivatorUtilities.CreateInstance<PostgreSqlBounceStore>(services)
                : new InMemoryBounceStore());
        builder.Services.AddSingleton<BounceTokens>();
        builder.Services.AddSingleton<BounceEnvelope>();
        builder.Services.AddSingleton<BounceMatcher>();
        builder.Services.AddSingleton<BounceIntake>();
        builder.AddImapIntake();
        return builder;
    }

    /// <summary>The return path with a token in it is an address whose local part fits RFC 5321's 64 characters.</summary>
    private static bool IsReturnPath(BounceOptions o)
    {
        var withToken = o.ReturnPath!.Contains("{token}", StringComparison.Ordinal)
            ? o.ReturnPath.Replace("{token}", new string('a', BounceTokens.Length), StringComparison.Ordinal)
            : o.ReturnPath.Insert(o.ReturnPath.LastIndexOf('@') is var at and > 0 ? at : 0, o.TokenDelimiter + new string('a', BounceTokens.Length));
        var at2 = withToken.LastIndexOf('@');
        return at2 is > 0 and <= 64 && Messages.Mailboxes.TryParse(withToken) is not null && !o.ReturnPath.Contains('<');
    }
}
