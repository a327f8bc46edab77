namespace MailApi.Testing;

/// <summary>How a <see cref="TestSmtpServer"/> is set up; the replies are scripted on the server itself.</summary>
public sealed record TestSmtpServerOptions
{
    /// <summary>The port on 127.0.0.1; 0 (the default) takes a free one.</summary>
    public int Port { get; init; }

    /// <summary>
    /// With a user name, the server advertises and accepts <c>AUTH PLAIN LOGIN</c> for this user and
    /// <see cref="Password"/> only (others get 535); without one it does not offer AUTH.
    /// </summary>
    public string? User { get; init; }

    /// <summary>The password of <see cref="User"/>.</summary>
    public string? Password { get; init; }

    /// <summary>Whether AUTH is offered on a connection without TLS (default true, as a test relay).</summary>
    public bool AllowAuthWithoutTls { get; init; } = true;

    /// <summary>Whether MAIL FROM needs a successful AUTH first (530 otherwise).</summary>
    public bool RequireAuth { get; init; }

    /// <summary>Whether the server offers STARTTLS, with a self-signed CN=localhost certificate (<see cref="TestCertificate"/>).</summary>
    public bool StartTls { get; init; }

    /// <summary>The advertised <c>SIZE</c>, enforced; 0 advertises nothing.</summary>
    public int MaxMessageSize { get; init; }
}
