using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;

namespace MailApi.Tests.Infrastructure;

/// <summary>The test relay's AUTH and STARTTLS, which the delivery tests rely on.</summary>
public sealed class TestSmtpServerAuthTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Auth_plain_and_login_succeed_with_the_right_password()
    {
        await using var server = await TestSmtpServer.StartAsync(new() { User = "relayuser", Password = "s3cret" }, Ct);

        foreach (var mechanism in new[] { "PLAIN", "LOGIN" })
        {
            using var client = await TestSmtpServerTests.ConnectAsync(server);
            Assert.Contains("PLAIN", client.AuthenticationMechanisms);
            Assert.Contains("LOGIN", client.AuthenticationMechanisms);
            client.AuthenticationMechanisms.RemoveWhere(m => m != mechanism);

            await client.AuthenticateAsync("relayuser", "s3cret", Ct);
            await client.SendAsync(TestSmtpServerTests.Message(mechanism), Ct);
        }

        var messages = await server.WaitForMessagesAsync(2, TestSmtpServerTests.Timeout, Ct);
        Assert.All(messages, m => Assert.Equal("relayuser", m.AuthenticatedUser));
        Assert.Equal(2, server.AuthAttempts);
    }

    [Fact]
    public async Task Auth_with_a_wrong_password_gets_535()
    {
        await using var server = await TestSmtpServer.StartAsync(new() { User = "relayuser", Password = "s3cret" }, Ct);
        using var client = await TestSmtpServerTests.ConnectAsync(server);
        client.AuthenticationMechanisms.RemoveWhere(m => m != "PLAIN"); // else MailKit tries LOGIN next

        var error = await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync("relayuser", "wrong", Ct));
        Assert.Contains("authentication failed", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(1, server.AuthAttempts);

        await client.AuthenticateAsync("relayuser", "s3cret", Ct); // the session goes on
        Assert.Equal(2, server.AuthAttempts);
    }

    [Fact]
    public async Task Without_a_user_auth_is_not_offered_even_under_tls()
    {
        await using var server = await TestSmtpServer.StartAsync(new() { StartTls = true }, Ct);
        using var client = await TestSmtpServerTests.ConnectAsync(server, SecureSocketOptions.StartTls);

        Assert.True(client.IsSecure);
        Assert.False(client.Capabilities.HasFlag(SmtpCapabilities.Authentication));
        Assert.Empty(client.AuthenticationMechanisms);
    }

    [Fact]
    public async Task Require_auth_refuses_mail_from_before_auth()
    {
        await using var server = await TestSmtpServer.StartAsync(
            new() { User = "relayuser", Password = "s3cret", RequireAuth = true }, Ct);
        using var client = await TestSmtpServerTests.ConnectAsync(server);

        var error = await Assert.ThrowsAsync<ServiceNotAuthenticatedException>(() => client.SendAsync(TestSmtpServerTests.Message(), Ct));
        Assert.Contains("authentication required", error.Message, StringComparison.Ordinal);
        Assert.Empty(server.Messages);
    }

    [Fact]
    public async Task Starttls_with_a_self_signed_localhost_certificate()
    {
        await using var server = await TestSmtpServer.StartAsync(
            new() { StartTls = true, User = "relayuser", Password = "s3cret", AllowAuthWithoutTls = false }, Ct);

        using (var plain = await TestSmtpServerTests.ConnectAsync(server))
        {
            Assert.True(plain.Capabilities.HasFlag(SmtpCapabilities.StartTLS));
            Assert.False(plain.Capabilities.HasFlag(SmtpCapabilities.Authentication)); // AUTH only after TLS here
        }

        using var client = await TestSmtpServerTests.ConnectAsync(server, SecureSocketOptions.StartTls);
        Assert.True(client.IsSecure);
        Assert.Contains("PLAIN", client.AuthenticationMechanisms);
        await client.AuthenticateAsync("relayuser", "s3cret", Ct);
        await client.SendAsync(TestSmtpServerTests.Message(), Ct);

        var received = Assert.Single(await server.WaitForMessagesAsync(1, TestSmtpServerTests.Timeout, Ct));
        Assert.True(received.Secure);
        Assert.Equal("relayuser", received.AuthenticatedUser);
    }

    [Fact]
    public async Task Starttls_is_refused_by_the_client_without_the_accept_all_callback()
    {
        await using var server = await TestSmtpServer.StartAsync(new() { StartTls = true }, Ct);
        using var client = new SmtpClient { Timeout = 10_000 };

        await Assert.ThrowsAsync<SslHandshakeException>(
            () => client.ConnectAsync("127.0.0.1", server.Port, SecureSocketOptions.StartTls, Ct));
    }
}
