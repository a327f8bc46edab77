using MailApi.Testing;
using MailApi.Tests.Infrastructure;

namespace MailApi.Tests.Storage;

public sealed class SchemaMigrationTests
{
    [Fact]
    public async Task A_database_that_cannot_be_reached_stops_the_start_naming_the_setting()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "PostgreSql",
            ["Storage:ConnectionString"] = $"Host=127.0.0.1;Port={FreePort.Get()};Username=postgres;Database=none;Timeout=2",
        };
        await using var factory = new MailApiFactory(FreePort.Get(), settings);

        var error = Assert.Throws<InvalidOperationException>(() => factory.ClientFor());

        Assert.StartsWith("Storage:ConnectionString: cannot use PostgreSQL at 127.0.0.1:", error.Message);
    }
}
