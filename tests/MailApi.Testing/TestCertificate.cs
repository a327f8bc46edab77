using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace MailApi.Testing;

/// <summary>A self-signed server certificate for <c>CN=localhost</c> (and 127.0.0.1), made in code.</summary>
internal static class TestCertificate
{
    private static readonly Lazy<X509Certificate2> Shared = new(Create);

    /// <summary>One certificate shared by the whole test run (making RSA keys is slow).</summary>
    public static X509Certificate2 Localhost => Shared.Value;

    private static X509Certificate2 Create()
    {
        const string commonName = "localhost";
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(commonName);
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1")], false)); // server authentication

        using var ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        // a round trip through PKCS#12 gives a key that SslStream can use on every platform
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pfx), null);
    }
}
