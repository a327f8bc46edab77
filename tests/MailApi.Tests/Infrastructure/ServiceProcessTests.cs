using System.Net;
using System.Net.Sockets;

namespace MailApi.Tests.Infrastructure;

public sealed class ServiceProcessTests
{
    [Fact]
    public async Task A_port_taken_before_the_service_binds_it_is_replaced_by_a_free_one()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var taken = ((IPEndPoint)squatter.LocalEndpoint).Port;

        using var service = await ServiceProcess.StartAsync(taken, "squatted-port-key", new Dictionary<string, string>
        {
            ["Smtp__Port"] = FreePort.Get().ToString(),
            ["Logging__LogLevel__Default"] = "Warning",
        });

        Assert.NotEqual(taken, service.Client.BaseAddress!.Port);
        Assert.True((await service.Client.GetAsync("/health/ready")).IsSuccessStatusCode);
    }
}
