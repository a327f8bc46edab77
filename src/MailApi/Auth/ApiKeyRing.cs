using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace MailApi.Auth;

/// <summary>Finds the configured key a request presents, comparing SHA-256 digests in constant time.</summary>
public sealed class ApiKeyRing
{
    private readonly (byte[] Digest, ApiKey Key)[] _keys;
    private readonly Dictionary<string, ApiKey> _byName;

    public ApiKeyRing(IOptions<ApiKeyOptions> options)
    {
        _keys = options.Value.ApiKeys
            .Select(k => (k.Key is { Length: > 0 } ? SHA256.HashData(Encoding.UTF8.GetBytes(k.Key)) : Convert.FromHexString(k.KeySha256!), k))
            .ToArray();
        _byName = options.Value.ApiKeys.ToDictionary(k => k.Name);
    }

    /// <summary>The key whose secret is <paramref name="presented"/>, or null.</summary>
    public ApiKey? Find(string presented)
    {
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        ApiKey? found = null;
        // Every key is compared, so the time taken says nothing about which one (or how much of one) matched.
        foreach (var (candidate, key) in _keys)
        {
            if (CryptographicOperations.FixedTimeEquals(candidate, digest))
            {
                found = key;
            }
        }
        return found;
    }

    public ApiKey? FindByName(string name) => _byName.GetValueOrDefault(name);
}
