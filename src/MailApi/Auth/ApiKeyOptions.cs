using MailApi.Messages;

namespace MailApi.Auth;

/// <summary>The API keys that may call <c>/v1</c> (section <c>Auth</c>).</summary>
public sealed class ApiKeyOptions
{
    public const string Section = "Auth";

    public List<ApiKey> ApiKeys { get; set; } = [];
}

/// <summary>One caller: its name (shown in logs, never the key), the key or its SHA-256, and whom it may send as.</summary>
public sealed class ApiKey
{
    public string Name { get; set; } = "";

    /// <summary>The key itself.</summary>
    public string? Key { get; set; }

    /// <summary>Or the hex SHA-256 of the key, so the configuration need not hold the secret.</summary>
    public string? KeySha256 { get; set; }

    /// <summary>Full addresses, <c>@domain</c>, or <c>*</c> for any sender.</summary>
    public List<string> AllowedSenders { get; set; } = [];

    /// <summary>Whether the key opens the Hangfire dashboard outside Development (when <c>Dashboard:Enabled</c>).</summary>
    public bool Dashboard { get; set; }

    /// <summary>Whether the key may post bounce reports (<c>POST /v1/bounces</c>) and read the report log, which holds every key's reports.</summary>
    public bool Bounces { get; set; }

    /// <summary>Requests this key may make per minute, instead of <c>RateLimit:PerKeyPerMinute</c> (0: no limit).</summary>
    public int? RateLimitPerMinute { get; set; }

    /// <summary>True when <paramref name="address"/> (a bare address) may be used as <c>from</c>.</summary>
    public bool MaySendAs(string address) => AllowedSenders.Any(allowed => Mailboxes.MatchesPattern(allowed, address));
}
