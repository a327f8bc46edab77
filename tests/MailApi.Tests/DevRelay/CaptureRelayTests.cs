using System.Net;
using System.Net.Sockets;
using MailApi.DevRelay;
using MailApi.Tests.Infrastructure;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MimeKit;

namespace MailApi.Tests.DevRelay;

public sealed class CaptureRelayTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "mailapi-relay-" + Guid.NewGuid().ToString("N"));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    private CaptureRelay Relay(int port = 0, ILogger<CaptureRelay>? logger = null) =>
        new(Options.Create(new DevRelayOptions { Enabled = true, Port = port, Folder = _folder }),
            logger ?? NullLogger<CaptureRelay>.Instance);

    private static MimeMessage Message(string subject = "Test message")
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("Zotrim <zotrim@domain.local>"));
        message.To.Add(MailboxAddress.Parse("student@domain.local"));
        message.Cc.Add(MailboxAddress.Parse("teacher@domain.local"));
        message.Subject = subject;
        message.MessageId = MimeKit.Utils.MimeUtils.GenerateMessageId("domain.local");
        var builder = new BodyBuilder
        {
            TextBody = "Hello,\r\n.a line that starts with a dot\r\n..and two\r\nBye\r\n",
            HtmlBody = "<p>Hello</p>",
        };
        message.Body = builder.ToMessageBody();
        return message;
    }

    private static async Task<SmtpClient> ConnectAsync(CaptureRelay relay)
    {
        var client = new SmtpClient { Timeout = 10_000 };
        await client.ConnectAsync(relay.Host, relay.ActualPort, SecureSocketOptions.None, Ct);
        return client;
    }

    [Fact]
    public async Task Writes_the_message_as_queue_id_eml_and_answers_queued_as_that_id()
    {
        await using var relay = Relay();
        await relay.StartAsync(Ct);
        Assert.NotEqual(0, relay.ActualPort);
        Assert.Equal(_folder, relay.Folder);

        var message = Message();
        string reply;
        using (var client = await ConnectAsync(relay))
        {
            reply = await client.SendAsync(message, Ct);
            await client.DisconnectAsync(true, Ct);
        }

        var match = System.Text.RegularExpressions.Regex.Match(reply, "^2\\.0\\.0 Ok: queued as ([0-9A-F]{12})$");
        Assert.True(match.Success, reply);
        var queueId = match.Groups[1].Value;
        var file = Path.Combine(_folder, queueId + ".eml");
        Assert.Equal([file], Directory.GetFiles(_folder));

        // the file holds exactly what was sent: MimeKit's own serialisation of the message, dots unstuffed
        var expected = new MemoryStream();
        await message.WriteToAsync(new FormatOptions { NewLineFormat = NewLineFormat.Dos }, expected, Ct);
        var captured = await File.ReadAllBytesAsync(file, Ct);
        Assert.Equal(System.Text.Encoding.UTF8.GetString(expected.ToArray()), System.Text.Encoding.UTF8.GetString(captured));

        var parsed = await MimeMessage.LoadAsync(file, Ct);
        Assert.Equal(message.MessageId, parsed.MessageId);
        Assert.Equal("Test message", parsed.Subject);
        Assert.Contains(".a line that starts with a dot", parsed.TextBody, StringComparison.Ordinal);
        Assert.Contains("\n..and two", parsed.TextBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Greets_like_postfix_and_reports_what_ehlo_advertises()
    {
        await using var relay = Relay();
        await relay.StartAsync(Ct);
        await using var wire = await SmtpWire.ConnectAsync(relay.ActualPort, Ct);

        Assert.Equal(["220 localhost ESMTP MailApi capture relay"], await wire.ReadReplyAsync(Ct));
        var ehlo = await wire.CommandAsync("EHLO client.local", Ct);
        Assert.Equal(
            ["250-localhost Hello client.local, haven't we met before?", "250-PIPELINING", "250-8BITMIME",
             "250-SMTPUTF8", $"250 SIZE {CaptureRelay.MaxMessageSize}"],
            ehlo);
        Assert.Equal(["250 Ok"], await wire.CommandAsync("MAIL FROM:<>", Ct));
        Assert.Equal(["250 Ok"], await wire.CommandAsync("RCPT TO:<anyone@anywhere.example>", Ct));
        Assert.Equal(["221 bye"], await wire.CommandAsync("QUIT", Ct));
    }

    [Fact]
    public async Task Offers_neither_auth_nor_starttls_so_a_client_with_credentials_sends_without_auth()
    {
        await using var relay = Relay();
        await relay.StartAsync(Ct);
        using var client = await ConnectAsync(relay);

        Assert.False(client.Capabilities.HasFlag(SmtpCapabilities.Authentication));
        Assert.False(client.Capabilities.HasFlag(SmtpCapabilities.StartTLS));
        Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.Pipelining));
        var reply = await client.SendAsync(Message(), Ct);

        Assert.StartsWith("2.0.0 Ok: queued as ", reply, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Queue_ids_are_unique_across_many_messages_and_connections()
    {
        await using var relay = Relay();
        await relay.StartAsync(Ct);

        var ids = new List<string>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 4), Ct, async (_, ct) =>
        {
            using var client = new SmtpClient { Timeout = 10_000 };
            await client.ConnectAsync(relay.Host, relay.ActualPort, SecureSocketOptions.None, ct);
            for (var i = 0; i < 10; i++)
            {
                var reply = await client.SendAsync(Message($"message {i}"), ct);
                lock (ids)
                {
                    ids.Add(reply[^12..]);
                }
            }
        });

        Assert.Equal(40, ids.Distinct().Count());
        Assert.All(ids, id => Assert.True(File.Exists(Path.Combine(_folder, id + ".eml"))));
        Assert.Equal(40, Directory.GetFiles(_folder, "*.eml").Length);
        Assert.Empty(Directory.GetFiles(_folder, "*.tmp"));
    }

    [Fact]
    public async Task Listens_on_the_configured_port_and_frees_it_on_stop()
    {
        var port = FreePort.Get();
        var relay = Relay(port);
        await relay.StartAsync(Ct);
        Assert.Equal(port, relay.ActualPort);

        using (var client = await ConnectAsync(relay))
        {
            await client.SendAsync(Message(), Ct);
        }

        await relay.StopAsync(Ct);
        Assert.Equal(0, relay.ActualPort);
        using var tcp = new TcpClient();
        var error = await Assert.ThrowsAsync<SocketException>(() => tcp.ConnectAsync(IPAddress.Loopback, port, Ct).AsTask());
        Assert.Equal(SocketError.ConnectionRefused, error.SocketErrorCode);
        await relay.DisposeAsync();
    }

    [Fact]
    public async Task A_port_in_use_fails_start_with_a_message_naming_the_port()
    {
        var blocker = new TcpListener(IPAddress.Loopback, 0);
        blocker.Start();
        try
        {
            var port = ((IPEndPoint)blocker.LocalEndpoint).Port;
            await using var relay = Relay(port);

            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => relay.StartAsync(Ct));
            Assert.Contains($"127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
            Assert.Contains("DevRelay:Port", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            blocker.Stop();
        }
    }

    [Fact]
    public async Task Logs_the_address_and_folder_at_start_and_one_line_per_message_without_the_body()
    {
        var logger = new ListLogger();
        await using var relay = Relay(logger: logger);
        await relay.StartAsync(Ct);
        using (var client = await ConnectAsync(relay))
        {
            await client.SendAsync(Message("secret subject"), Ct);
        }

        await relay.StopAsync(Ct);
        var lines = logger.Lines;
        Assert.Contains($"Capture relay listening on 127.0.0.1:{Assert.IsType<int>(logger.Ports.Single())}; messages are written to {_folder}", lines);
        var captured = Assert.Single(lines, l => l.StartsWith("Captured message ", StringComparison.Ordinal));
        Assert.Contains("for 2 recipient(s)", captured, StringComparison.Ordinal);
        Assert.Contains(_folder, captured, StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.Contains("Hello", StringComparison.Ordinal) || l.Contains("secret", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AddDevRelay_registers_a_relay_that_listens_before_the_app_serves()
    {
        var root = Directory.CreateDirectory(Path.Combine(_folder, "root")).FullName;
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = root, EnvironmentName = "Development" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["DevRelay:Enabled"] = "true",
            ["DevRelay:Port"] = FreePort.Get().ToString(),
        });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.AddDevRelay();
        await using var app = builder.Build();

        int? portSeenAtStart = null;
        app.Lifetime.ApplicationStarted.Register(() => portSeenAtStart = app.Services.GetRequiredService<CaptureRelay>().ActualPort);
        await app.StartAsync(Ct);
        var relay = app.Services.GetRequiredService<CaptureRelay>();

        Assert.NotEqual(0, relay.ActualPort);
        Assert.Equal(relay.ActualPort, portSeenAtStart);
        Assert.Equal(Path.Combine(root, "captured-mail"), relay.Folder);
        Assert.Equal(Path.Combine(root, "captured-mail"), app.Services.GetRequiredService<IOptions<DevRelayOptions>>().Value.Folder);
        using (var client = await ConnectAsync(relay))
        {
            await client.SendAsync(Message(), Ct);
        }

        Assert.Single(Directory.GetFiles(relay.Folder, "*.eml"));
        await app.StopAsync(Ct);
        Assert.Equal(0, relay.ActualPort);
    }

    [Fact]
    public async Task AddDevRelay_registers_nothing_when_disabled()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["DevRelay:Enabled"] = "false" });
        builder.AddDevRelay();
        await using var app = builder.Build();

        Assert.Null(app.Services.GetService<CaptureRelay>());
        Assert.Equal(2525, app.Services.GetRequiredService<IOptions<DevRelayOptions>>().Value.Port);
    }

    private sealed class ListLogger : ILogger<CaptureRelay>
    {
        private readonly List<string> _lines = [];

        public List<object?> Ports { get; } = [];

        public IReadOnlyList<string> Lines
        {
            get { lock (_lines) { return [.. _lines]; } }
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter)
        {
            lock (_lines)
            {
                _lines.Add(formatter(state, exception));
                if (state is IReadOnlyList<KeyValuePair<string, object?>> values)
                {
                    Ports.AddRange(values.Where(v => v.Key == "Port").Select(v => v.Value));
                }
            }
        }
    }
}
