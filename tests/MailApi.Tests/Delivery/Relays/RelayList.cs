using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MailApi.Tests.Infrastructure;

namespace MailApi.Tests.Delivery.Relays;

/// <summary>Builds the <c>Relays</c> settings of a test service, and reads its relays back from <c>/health/ready</c>.</summary>
internal static class RelayList
{
    /// <summary>
    /// The settings of <paramref name="relays"/> as <c>Relays:N:*</c>, in order: each a name, a port on 127.0.0.1 and
    /// any other keys of its own; plain text, a 5 s timeout and the tests' HELO name unless given.
    /// </summary>
    public static Dictionary<string, string?> Settings(params (string Name, int Port, (string Key, string Value)[] Extra)[] relays)
    {
        var settings = new Dictionary<string, string?>();
        for (var i = 0; i < relays.Length; i++)
        {
            var prefix = string.Create(CultureInfo.InvariantCulture, $"Relays:{i}:");
            settings[prefix + "Name"] = relays[i].Name;
            settings[prefix + "Host"] = "127.0.0.1";
            settings[prefix + "Port"] = relays[i].Port.ToString(CultureInfo.InvariantCulture);
            settings[prefix + "Security"] = "None";
            settings[prefix + "Timeout"] = "00:00:05";
            settings[prefix + "HeloName"] = "mailapi.test";
            settings[prefix + "AcceptAnyCertificate"] = "true";
            foreach (var (key, value) in relays[i].Extra)
            {
                settings[prefix + key] = value;
            }
        }
        return settings;
    }

    /// <summary>One relay for <see cref="Settings"/>.</summary>
    public static (string Name, int Port, (string Key, string Value)[] Extra) Relay(string name, int port, params (string Key, string Value)[] extra) =>
        (name, port, extra);

    /// <summary><c>/health/ready</c>'s report (its status code aside: Degraded is still ready).</summary>
    public static async Task<JsonObject> ReadyAsync(MailApiFactory factory) =>
        (await factory.CreateClient().GetFromJsonAsync<JsonObject>("/health/ready"))!;

    /// <summary>What <c>/health/ready</c> says of relay <paramref name="name"/>: <c>up</c> or <c>paused until …</c>.</summary>
    public static string? StateOf(JsonObject ready, string name) => (string?)ready["checks"]!["relays"]!["data"]![name];

    /// <summary>Each attempt of a message as (upstream, outcome, failedOver).</summary>
    public static List<(string? Upstream, string? Outcome, bool FailedOver)> Tried(JsonObject message) =>
        message["attempts"]!.AsArray().Select(a => ((string?)a!["upstream"], (string?)a["outcome"], (bool)a["failedOver"]!)).ToList();
}
