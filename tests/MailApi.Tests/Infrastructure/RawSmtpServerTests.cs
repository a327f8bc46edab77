using MailKit.Net.Smtp;
using MailKit.Security;

namespace MailApi.Tests.Infrastructure;

public sealed class RawSmtpServerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Raw_server_greets_with_421_and_closes()
    {
        await using var raw = RawSmtpServer.GreetAndClose();
        using var client = new SmtpClient { Timeout = 10_000 };

        var error = await Assert.ThrowsAsync<SmtpCommandException>(
            () => client.ConnectAsync("127.0.0.1", raw.Port, SecureSocketOptions.None, Ct));
        Assert.Equal(SmtpStatusCode.ServiceNotAvailable, error.StatusCode);
        Assert.False(client.IsConnected);
        Assert.Equal(1, raw.ConnectionCount);
    }

    [Fact]
    public async Task Raw_server_can_hang_up_after_the_final_dot()
    {
        await using var raw = RawSmtpServer.Dialogue(command => command == "." ? null : RawSmtpServer.DefaultAnswer(command));
        using var client = new SmtpClient { Timeout = 10_000 };
        await client.ConnectAsync("127.0.0.1", raw.Port, SecureSocketOptions.None, Ct);

        await Assert.ThrowsAnyAsync<Exception>(() => client.SendAsync(TestSmtpServerTests.Message(), Ct));
        Assert.False(client.IsConnected);
        Assert.Contains("DATA", raw.ReceivedLines);
        Assert.Contains("Subject: Test message", raw.ReceivedLines);
    }

    [Fact]
    public async Task Raw_server_default_dialogue_takes_a_message()
    {
        await using var raw = RawSmtpServer.Dialogue(RawSmtpServer.DefaultAnswer);
        using var client = new SmtpClient { Timeout = 10_000 };
        await client.ConnectAsync("127.0.0.1", raw.Port, SecureSocketOptions.None, Ct);

        var reply = await client.SendAsync(TestSmtpServerTests.Message(), Ct);
        await client.DisconnectAsync(true, Ct);

        Assert.Equal("2.0.0 Ok: queued as RAW0000001", reply);
        Assert.Contains("QUIT", raw.ReceivedLines);
    }
}
