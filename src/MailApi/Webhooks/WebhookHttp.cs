using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;
using Microsoft.Extensions.Options;
using StandardWebhooks;

namespace MailApi.Webhooks;

/// <summary>What one try got: the status code (null when no answer came), Retry-After, the first KB of the answer, why it failed.</summary>
public sealed record WebhookResponse(int? StatusCode, TimeSpan? RetryAfter, string? Body, string? Error, long DurationMs);

/// <summary>
/// One signed POST to an endpoint, per the Standard Webhooks spec: <c>webhook-id</c>, <c>webhook-timestamp</c> and
/// <c>webhook-signature</c> (one <c>v1,</c> signature per live secret), never following a redirect, and connecting only to
/// addresses <see cref="TargetPolicy"/> allows — checked on the address actually connected to, so DNS rebinding gains nothing.
/// </summary>
public sealed class WebhookHttp(IHttpClientFactory clients, IOptionsMonitor<WebhookOptions> options, TimeProvider clock)
{
    public const string ClientName = "webhooks";

    /// <summary>The first KB of an answer is kept for the delivery log; the rest is not read.</summary>
    private const int MaxResponseBytes = 1024;

    public static readonly string UserAgent = "MailApi/" + (typeof(WebhookHttp).Assembly
        .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "1.0");

    public async Task<WebhookResponse> PostAsync(StoredEndpoint endpoint, StoredDelivery delivery, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var id = delivery.Id.ToString();
        var signatures = new List<string> { new StandardWebhook(WebhookSecret.Key(endpoint.Secret)).Sign(id, now, delivery.Body) };
        if (endpoint.PreviousSecret is { } previous && endpoint.PreviousSecretExpiresAt > now)
        {
            signatures.Add(new StandardWebhook(WebhookSecret.Key(previous)).Sign(id, now, delivery.Body));
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint.Url)
        {
            Content = new StringContent(delivery.Body, Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("webhook-id", id);
        request.Headers.TryAddWithoutValidation("webhook-timestamp", now.ToUnixTimeSeconds().ToString());
        request.Headers.TryAddWithoutValidation("webhook-signature", string.Join(' ', signatures));
        request.Headers.TryAddWithoutValidation("user-agent", UserAgent);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.CurrentValue.Timeout);
        var watch = Stopwatch.StartNew();
        try
        {
            using var response = await clients.CreateClient(ClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var body = await ReadStartAsync(response, timeout.Token);
            var code = (int)response.StatusCode;
            var error = code switch
            {
                >= 200 and < 300 => null,
                >= 300 and < 400 => $"Answered {code} (redirect to '{response.Headers.Location}'): redirects are not followed.",
                _ => $"Answered {code} {response.ReasonPhrase}.",
            };
            return new(code, RetryAfter(response, now), body, error, watch.ElapsedMilliseconds);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return new(null, null, null, $"No answer within Webhooks:Timeout ({options.CurrentValue.Timeout}).", watch.ElapsedMilliseconds);
        }
        catch (HttpRequestException ex)
        {
            var refusal = ex.InnerException as TargetRefusedException ?? ex.InnerException?.InnerException as TargetRefusedException;
            return new(null, null, null, refusal?.Message ?? $"Connection failed: {ex.Message}", watch.ElapsedMilliseconds);
        }
    }

    private static async Task<string?> ReadStartAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[MaxResponseBytes];
        var read = 0;
        while (read < buffer.Length && await stream.ReadAsync(buffer.AsMemory(read), cancellationToken) is var n and > 0)
        {
            read += n;
        }
        return read == 0 ? null : Encoding.UTF8.GetString(buffer, 0, read);
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response, DateTimeOffset now) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date > now ? date - now : TimeSpan.Zero,
        _ => null,
    };

    /// <summary>The handler behind the named client: no redirects, no cookies, and the connect-time address check.</summary>
    public static SocketsHttpHandler CreateHandler(IOptionsMonitor<WebhookOptions> options) => new()
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        ConnectCallback = async (context, cancellationToken) =>
        {
            var host = context.DnsEndPoint.Host;
            var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
            if (!options.CurrentValue.AllowPrivateTargets && addresses.FirstOrDefault(TargetPolicy.IsPrivate) is { } refused)
            {
                throw new TargetRefusedException(
                    $"Refused: '{host}' resolves to {refused}, a loopback, private, link-local, unique-local or multicast address (Webhooks:AllowPrivateTargets is off).");
            }
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };
}

/// <summary>The target's address is one <see cref="TargetPolicy"/> refuses: no connection was made.</summary>
public sealed class TargetRefusedException(string message) : Exception(message);
