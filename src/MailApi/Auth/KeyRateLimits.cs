using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace MailApi.Auth;

/// <summary>The request limit per API key (section <c>RateLimit</c>); off by default.</summary>
public sealed class RateLimitOptions
{
    public const string Section = "RateLimit";

    /// <summary>Requests one API key may make per minute; 0 means no limit. <c>Auth:ApiKeys:N:RateLimitPerMinute</c> overrides it.</summary>
    public int PerKeyPerMinute { get; set; }
}

/// <summary>
/// ASP.NET Core's rate limiter partitioned by API key: each key has its own window of a minute, of
/// <c>Auth:ApiKeys:N:RateLimitPerMinute</c> requests, or else <c>RateLimit:PerKeyPerMinute</c>. A request over it is
/// answered <c>429</c> problem+json with <c>Retry-After</c> before any endpoint runs, so nothing of it is stored.
/// Requests without a known key are not counted (they are answered <c>401</c>, or are not under <c>/v1</c>).
/// </summary>
public static class KeyRateLimits
{
    public static WebApplicationBuilder AddKeyRateLimits(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.Section)
            .Validate(o => o.PerKeyPerMinute >= 0, "RateLimit:PerKeyPerMinute must be 0 (no limit) or more.")
            .ValidateOnStart();
        builder.Services.AddOptions<RateLimiterOptions>().Configure<IOptions<RateLimitOptions>, ApiKeyRing>((limiter, limits, keys) =>
        {
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
                context.User.Identity is { IsAuthenticated: true, Name: { } name } && LimitOf(name, keys, limits.Value) is > 0 and var limit
                    ? RateLimitPartition.GetFixedWindowLimiter(name, _ => new FixedWindowRateLimiterOptions
                    {
                        PermitLimit = limit,
                        Window = TimeSpan.FromMinutes(1),
                        QueueLimit = 0,
                        AutoReplenishment = true,
                    })
                    : RateLimitPartition.GetNoLimiter(""));
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = RejectAsync;
        });
        builder.Services.AddRateLimiter(_ => { });
        return builder;
    }

    private static int LimitOf(string keyName, ApiKeyRing keys, RateLimitOptions limits) =>
        keys.FindByName(keyName)?.RateLimitPerMinute ?? limits.PerKeyPerMinute;

    private static async ValueTask RejectAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var context = rejected.HttpContext;
        var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromMinutes(1);
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        var limit = LimitOf(context.User.Identity!.Name!, context.RequestServices.GetRequiredService<ApiKeyRing>(),
            context.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value);
        await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails =
            {
                Status = StatusCodes.Status429TooManyRequests,
                Type = "https://tools.ietf.org/html/rfc6585#section-4",
                Title = "Too many requests",
                Detail = string.Create(CultureInfo.InvariantCulture,
                    $"This API key may make {limit} requests a minute; nothing of this request was stored. Retry after {seconds} s."),
            },
        });
    }
}
