using System.Globalization;
using Microsoft.Extensions.Options;

namespace MailApi.Delivery.Dkim;

/// <summary>The DKIM keys (section <c>Dkim</c>): a message whose <c>From</c> domain has a key is signed with it.</summary>
public sealed class DkimOptions
{
    public const string Section = "Dkim";

    public List<DkimKey> Keys { get; set; } = [];
}

/// <summary>One signing key: the domain it signs for (<c>d=</c>), its selector (<c>s=</c>) and the RSA private key in PEM.</summary>
public sealed class DkimKey
{
    public string Domain { get; set; } = "";

    public string Selector { get; set; } = "";

    /// <summary>A file holding the PEM private key (PKCS#1 <c>RSA PRIVATE KEY</c> or PKCS#8 <c>PRIVATE KEY</c>).</summary>
    public string? PrivateKeyPath { get; set; }

    /// <summary>Or the PEM private key itself.</summary>
    public string? PrivateKey { get; set; }
}

/// <summary>Checks every key at start, reading it as the signer will: a key that cannot be read stops the service naming it.</summary>
public sealed class DkimOptionsValidation : IValidateOptions<DkimOptions>
{
    public ValidateOptionsResult Validate(string? name, DkimOptions options)
    {
        var problems = new List<string>();
        for (var i = 0; i < options.Keys.Count; i++)
        {
            var key = options.Keys[i];
            var at = string.Create(CultureInfo.InvariantCulture, $"{DkimOptions.Section}:Keys:{i}");
            if (string.IsNullOrWhiteSpace(key.Domain))
            {
                problems.Add($"{at}:Domain is required.");
            }
            else if (options.Keys.Take(i).Any(k => string.Equals(k.Domain, key.Domain, StringComparison.OrdinalIgnoreCase)))
            {
                problems.Add($"{at}:Domain '{key.Domain}' has a key already; one key per domain.");
            }
            if (string.IsNullOrWhiteSpace(key.Selector))
            {
                problems.Add($"{at}:Selector is required.");
            }
            if (string.IsNullOrEmpty(key.PrivateKeyPath) == string.IsNullOrEmpty(key.PrivateKey))
            {
                problems.Add($"{at}: give either PrivateKeyPath or PrivateKey (PEM), not both or neither.");
                continue;
            }
            try
            {
                DkimSigning.SignerFor(key);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or ArgumentException or InvalidCastException)
            {
                var which = key.PrivateKeyPath is not null ? $"{at}:PrivateKeyPath '{key.PrivateKeyPath}'" : $"{at}:PrivateKey";
                problems.Add($"{which} cannot be read as an RSA private key in PEM: {ex.Message}");
            }
        }
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
