using System.Globalization;
using MailApi.Delivery.Smtp;
using Microsoft.Extensions.Options;

namespace MailApi.Delivery.Relays;

public static class RelaysExtensions
{
    /// <summary>The relays (<c>Relays</c>, or the one of <c>Smtp</c>), checked at start, and their state in <c>/health/ready</c>.</summary>
    public static WebApplicationBuilder AddRelays(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<RelayListOptions>()
            .Configure<IConfiguration>((list, configuration) =>
            {
                configuration.GetSection(RelayListOptions.Section).Bind(list.Relays);
                for (var i = 0; i < list.Relays.Count; i++)
                {
                    list.Relays[i].PlaceAt(string.Create(CultureInfo.InvariantCulture, $"{RelayListOptions.Section}:{i}"));
                }
            })
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<RelayListOptions>, RelayListValidation>();
        builder.Services.AddSingleton<IValidateOptions<SmtpOptions>, SmtpRelayValidation>();
        builder.Services.AddSingleton<RelayRouter>();
        builder.Services.AddSingleton<IRelayStates>(services => services.GetRequiredService<RelayRouter>());
        builder.Services.AddHealthChecks().AddCheck<RelayHealthCheck>("relays", tags: ["ready"]);
        return builder;
    }

    /// <summary>Each entry of <c>Relays</c> on its own (its key <c>Relays:N</c>), and names unique across the list.</summary>
    private sealed class RelayListValidation : IValidateOptions<RelayListOptions>
    {
        public ValidateOptionsResult Validate(string? name, RelayListOptions options)
        {
            var problems = new List<string>();
            var names = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
            for (var i = 0; i < options.Relays.Count; i++)
            {
                var relay = options.Relays[i];
                problems.AddRange(relay.Problems());
                if (!names.TryAdd(relay.Upstream, i))
                {
                    problems.Add(string.Create(CultureInfo.InvariantCulture,
                        $"{relay.Key}:Name '{relay.Upstream}' is the name of {RelayListOptions.Section}:{names[relay.Upstream]} already; relay names must be unique."));
                }
            }
            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
        }
    }

    /// <summary>The <c>Smtp</c> section as the one relay.</summary>
    private sealed class SmtpRelayValidation : IValidateOptions<SmtpOptions>
    {
        public ValidateOptionsResult Validate(string? name, SmtpOptions options)
        {
            var problems = options.Problems().ToList();
            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
        }
    }
}
