using System.Net;
using System.Net.Sockets;

namespace MailApi.Webhooks;

/// <summary>
/// Which urls and addresses a webhook may be sent to. Checked when an endpoint is created or changed, and again on every
/// connection (<see cref="WebhookHttp"/>), so a name that resolves elsewhere later (DNS rebinding) gains nothing.
/// </summary>
public static class TargetPolicy
{
    public const int MaxUrlLength = 2000;

    /// <summary>Why <paramref name="url"/> is refused, or null when it is a url the options allow.</summary>
    public static async Task<string?> CheckAsync(string url, WebhookOptions options, CancellationToken cancellationToken)
    {
        if (url.Length > MaxUrlLength || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
        {
            return $"'url' must be an absolute http(s) url of at most {MaxUrlLength} characters.";
        }
        if (uri.Scheme != Uri.UriSchemeHttps && !(uri.Scheme == Uri.UriSchemeHttp && options.AllowHttp))
        {
            return options.AllowHttp ? "'url' must be an http or https url." : "'url' must be an https url (Webhooks:AllowHttp is off).";
        }
        if (uri.UserInfo.Length > 0)
        {
            return "'url' must not carry a user name or password.";
        }
        if (options.AllowPrivateTargets)
        {
            return null;
        }
        IPAddress[] addresses;
        try
        {
            addresses = IPAddress.TryParse(uri.IdnHost, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(uri.IdnHost, cancellationToken);
        }
        catch (SocketException)
        {
            return $"'url': the host '{uri.Host}' does not resolve.";
        }
        return addresses.FirstOrDefault(IsPrivate) is { } refused
            ? $"'url': the host '{uri.Host}' is or resolves to {refused}, a loopback, private, link-local, unique-local or multicast address (Webhooks:AllowPrivateTargets is off)."
            : null;
    }

    /// <summary>True for addresses inside the service's own machine or network, or no single host at all.</summary>
    public static bool IsPrivate(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b[0] is 0 or 10 or 127 or >= 224 // this network, private, loopback, multicast and reserved
                || (b[0] == 169 && b[1] == 254) // link-local
                || (b[0] == 172 && b[1] is >= 16 and <= 31)
                || (b[0] == 192 && b[1] == 168)
                || (b[0] == 100 && b[1] is >= 64 and <= 127); // carrier-grade NAT (RFC 6598)
        }
        return IPAddress.IsLoopback(address) || address.Equals(IPAddress.IPv6Any) || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal
            || address.IsIPv6Multicast || address.IsIPv6UniqueLocal;
    }
}
