using System.Buffers;
using System.Net;
using Microsoft.Extensions.Options;
using SmtpServer;
using SmtpServer.ComponentModel;
using SmtpServer.Mail;
using SmtpServer.Net;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace MailApi.DevRelay;

/// <summary>
/// The embedded capture relay for local runs: an SMTP server on 127.0.0.1 that accepts every sender and
/// recipient, writes each message as <c>QUEUEID.eml</c> into <see cref="DevRelayOptions.Folder"/> and answers
/// the final dot like Postfix does (<c>250 2.0.0 Ok: queued as QUEUEID</c>). Nothing is ever delivered.
/// It offers no AUTH and no STARTTLS.
/// </summary>
/// <remarks>
/// <see cref="StartAsync"/> returns once the listener is bound, so a host that starts this service before its
/// web server never serves a request while the relay is still missing.
/// </remarks>
public sealed class CaptureRelay : IHostedService, IAsyncDisposable
{
    /// <summary>The largest message the relay takes (advertised as <c>SIZE</c>).</summary>
    public const int MaxMessageSize = 64 * 1024 * 1024;

    private readonly DevRelayOptions _options;
    private readonly ILogger<CaptureRelay> _logger;
    private readonly DevBounces? _bounces;
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private CancellationTokenSource? _stopping;
    private Task? _running;
    private int _actualPort;

    /// <summary>Creates the relay; nothing listens before <see cref="StartAsync"/>.</summary>
    public CaptureRelay(IOptions<DevRelayOptions> options, ILogger<CaptureRelay> logger, DevBounces? bounces = null)
    {
        _bounces = bounces;
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        _options = options.Value;
        _logger = logger;
        if (_options.Port is < 0 or > 65535)
        {
            throw new OptionsValidationException(DevRelayOptions.SectionName, typeof(DevRelayOptions),
                [$"DevRelay:Port must be between 0 and 65535 (is {_options.Port})."]);
        }

        Folder = Path.GetFullPath(string.IsNullOrWhiteSpace(_options.Folder) ? "captured-mail" : _options.Folder);
    }

    /// <summary>The address the relay listens on: always 127.0.0.1.</summary>
    public string Host => DevRelayOptions.Host;

    /// <summary>
    /// The port the relay is bound to (the configured one, or the one the system chose when it was 0);
    /// 0 before <see cref="StartAsync"/> has completed and after <see cref="StopAsync"/>.
    /// </summary>
    public int ActualPort => Volatile.Read(ref _actualPort);

    /// <summary>The absolute folder captured messages are written to.</summary>
    public string Folder { get; }

    /// <summary>Binds 127.0.0.1:<see cref="DevRelayOptions.Port"/> and returns once connections are accepted.</summary>
    /// <exception cref="InvalidOperationException">The port could not be bound (for example, it is in use).</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_running is not null)
            {
                return;
            }

            Directory.CreateDirectory(Folder);

            var bound = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            var listenerFactory = new EndpointListenerFactory();
            listenerFactory.EndpointStarted += (_, e) =>
                bound.TrySetResult((e.LocalEndPoint as IPEndPoint)?.Port ?? 0);

            var serverName = string.IsNullOrWhiteSpace(_options.ServerName) ? "localhost" : _options.ServerName;
            var smtpOptions = new SmtpServerOptionsBuilder()
                .ServerName(serverName)
                .Endpoint(endpoint => endpoint.Endpoint(new IPEndPoint(IPAddress.Loopback, _options.Port)))
                .MaxMessageSize(MaxMessageSize, MaxMessageSizeHandling.Strict)
                .CustomSmtpGreeting(_ => $"220 {serverName} ESMTP MailApi capture relay")
                .Build();

            var services = new SmtpServer.ComponentModel.ServiceProvider();
            services.Add(listenerFactory);
            services.Add(new CaptureStore(this));
            services.Add(new AcceptAllMailboxFilter());

            var stopping = new CancellationTokenSource();
            var server = new SmtpServer.SmtpServer(smtpOptions, services);
            var running = server.StartAsync(stopping.Token);

            var first = await Task.WhenAny(bound.Task, running).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (first != bound.Task)
            {
                await stopping.CancelAsync().ConfigureAwait(false);
                stopping.Dispose();
                var reason = running.Exception?.GetBaseException().Message ?? "the listener stopped at once";
                throw new InvalidOperationException(
                    $"The capture relay could not listen on {Host}:{_options.Port} (DevRelay:Port): {reason}",
                    running.Exception?.GetBaseException());
            }

            _stopping = stopping;
            _running = running;
            Volatile.Write(ref _actualPort, await bound.Task.ConfigureAwait(false));

            _logger.LogInformation(
                "Capture relay listening on {Host}:{Port}; messages are written to {Folder}",
                Host, ActualPort, Folder);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Stops accepting connections, ends open sessions and releases the port.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _lifecycle.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (_running is null || _stopping is null)
            {
                return;
            }

            await _stopping.CancelAsync().ConfigureAwait(false);
            try
            {
                await _running.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // the server ends by cancellation
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _logger.LogWarning(e, "The capture relay stopped with an error");
            }

            _stopping.Dispose();
            _stopping = null;
            _running = null;
            Volatile.Write(ref _actualPort, 0);
            _logger.LogInformation("Capture relay stopped");
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Stops the relay if it still runs. Safe to call more than once.</summary>
    public ValueTask DisposeAsync() => new(StopAsync(CancellationToken.None));

    private async Task<string> SaveAsync(IMessageTransaction transaction, ReadOnlySequence<byte> buffer,
        CancellationToken cancellationToken)
    {
        // SmtpServer hands over the data without the "\r\n.\r\n" that ends it; its CRLF belongs to the message
        var raw = buffer.IsEmpty ? [] : new byte[buffer.Length + 2];
        if (raw.Length > 0)
        {
            buffer.CopyTo(raw);
            raw[^2] = (byte)'\r';
            raw[^1] = (byte)'\n';
        }

        while (true)
        {
            var queueId = QueueIdGenerator.Next();
            var path = Path.Combine(Folder, queueId + ".eml");
            var temporary = Path.Combine(Folder, $".{queueId}.eml.tmp");
            await File.WriteAllBytesAsync(temporary, raw, cancellationToken).ConfigureAwait(false);
            try
            {
                File.Move(temporary, path, overwrite: false);
            }
            catch (IOException) when (File.Exists(path))
            {
                File.Delete(temporary);
                continue; // an id that was used before: take another one
            }

            _bounces?.Report(raw, queueId, transaction.From?.AsAddress() ?? "", [.. transaction.To.Select(t => t.AsAddress())]);
            _logger.LogInformation(
                "Captured message {QueueId} from <{From}> for {RecipientCount} recipient(s): {File} ({Bytes} bytes)",
                queueId, transaction.From?.AsAddress() ?? "", transaction.To.Count, path, raw.Length);
            return queueId;
        }
    }

    private sealed class CaptureStore(CaptureRelay relay) : MessageStore
    {
        public override async Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction,
            ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            try
            {
                var queueId = await relay.SaveAsync(transaction, buffer, cancellationToken).ConfigureAwait(false);
                return new SmtpResponse(SmtpReplyCode.Ok, $"2.0.0 Ok: queued as {queueId}");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                relay._logger.LogError(e, "The capture relay could not write a message to {Folder}", relay.Folder);
                return new SmtpResponse(SmtpReplyCode.Aborted, "4.3.0 Error: queue file write error");
            }
        }
    }

    private sealed class AcceptAllMailboxFilter : MailboxFilter
    {
        public override Task<bool> CanAcceptFromAsync(ISessionContext context, IMailbox from, int size,
            CancellationToken cancellationToken) => Task.FromResult(true);

        public override Task<bool> CanDeliverToAsync(ISessionContext context, IMailbox to, IMailbox from,
            CancellationToken cancellationToken) => Task.FromResult(true);
    }
}
