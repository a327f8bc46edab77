using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;

namespace MailApi.Auth;

public static class AuthExtensions
{
    public static WebApplicationBuilder AddApiKeyAuth(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ApiKeyOptions>()
            .BindConfiguration(ApiKeyOptions.Section)
            .Validate(o => o.ApiKeys.Count > 0, "Auth:ApiKeys must list at least one key (Auth__ApiKeys__0__Name, Auth__ApiKeys__0__Key, Auth__ApiKeys__0__AllowedSenders__0).")
            .Validate(o => o.ApiKeys.All(k => !string.IsNullOrWhiteSpace(k.Name)), "Auth:ApiKeys:N:Name is required for every key.")
            .Validate(o => o.ApiKeys.All(k => !string.IsNullOrEmpty(k.Key) || IsSha256Hex(k.KeySha256)),
                "Auth:ApiKeys:N:Key or Auth:ApiKeys:N:KeySha256 (64 hex digits) is required for every key.")
            .Validate(o => o.ApiKeys.Select(k => k.Name).Distinct().Count() == o.ApiKeys.Count, "Auth:ApiKeys:N:Name must be unique.")
            .Validate(o => o.ApiKeys.All(k => k.RateLimitPerMinute is null or >= 0), "Auth:ApiKeys:N:RateLimitPerMinute must be 0 (no limit) or more.")
            .ValidateOnStart();
        builder.Services.AddSingleton<ApiKeyRing>();
        builder.Services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorization();
        builder.AddKeyRateLimits();
        return builder;
    }

    /// <summary>The name of the API key that made the request.</summary>
    public static string KeyName(this ClaimsPrincipal user) =>
        user.Identity?.Name ?? throw new InvalidOperationException("The request is not authenticated.");

    private static bool IsSha256Hex(string? value) =>
        value is { Length: 64 } && value.All(Uri.IsHexDigit);
}
