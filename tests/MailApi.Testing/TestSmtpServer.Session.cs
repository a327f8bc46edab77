using System.Buffers;
using System.Net;
using System.Security.Authentication;
using MimeKit;
using SmtpServer;
using SmtpServer.Authentication;
using SmtpServer.Mail;
using SmtpServer.Protocol;
using SmtpServer.Storage;
using SmtpServerHost = SmtpServer.SmtpServer;

namespace MailApi.Testing;

/// <summary>The server side of <see cref="TestSmtpServer"/>: the SmtpServer package wired to the script.</summary>
public sealed partial class TestSmtpServer
{
    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var bound = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var listenerFactory = new TestEndpointListenerFactory(
            endpoint => bound.TrySetResult(endpoint.Port),
            pipe =>
            {
                pipe.Number = Interlocked.Increment(ref _connectionCount);
                _connections.TryAdd(pipe, 0);
            },
            hideAuth: string.IsNullOrEmpty(_options.User));

        var builder = new SmtpServerOptionsBuilder()
            .ServerName(ServerName)
            .MaxRetryCount(1000) // SmtpServer ends a session after this many error replies in a row
            .CustomSmtpGreeting(_ => $"220 {ServerName} ESMTP TestSmtpServer")
            .Endpoint(endpoint =>
            {
                endpoint.Endpoint(new IPEndPoint(IPAddress.Loopback, _options.Port))
                    .AllowUnsecureAuthentication(_options.AllowAuthWithoutTls && !string.IsNullOrEmpty(_options.User))
                    .AuthenticationRequired(_options.RequireAuth)
                    .SupportedSslProtocols(SslProtocols.Tls12 | SslProtocols.Tls13);
                if (_options.StartTls)
                {
                    endpoint.Certificate(TestCertificate.Localhost);
                }
            });
        if (_options.MaxMessageSize > 0)
        {
            builder.MaxMessageSize(_options.MaxMessageSize, MaxMessageSizeHandling.Strict);
        }

        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(listenerFactory);
        services.Add(new ScriptedMailboxFilter(this));
        services.Add(new ScriptedMessageStore(this));
        services.Add(new ScriptedAuthenticator(this)); // without it SmtpServer would accept any user

        var server = new SmtpServerHost(builder.Build(), services);
        server.SessionCreated += (_, e) =>
            e.Context.CommandExecuting += (_, c) => _commands.Enqueue(c.Command.Name);
        server.SessionCompleted += (_, e) => Forget(e.Context);
        server.SessionFaulted += (_, e) => Forget(e.Context);
        server.SessionCancelled += (_, e) => Forget(e.Context);

        _running = server.StartAsync(_stopping.Token);
        var first = await Task.WhenAny(bound.Task, _running).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (first != bound.Task)
        {
            throw new InvalidOperationException(
                $"TestSmtpServer could not listen on 127.0.0.1:{_options.Port}: " +
                (_running.Exception?.GetBaseException().Message ?? "the listener stopped"),
                _running.Exception?.GetBaseException());
        }

        Port = await bound.Task.ConfigureAwait(false);
    }

    private void Forget(ISessionContext context)
    {
        if (context.Properties.TryGetValue(TestSmtpPipe.PropertyKey, out var value) && value is TestSmtpPipe pipe)
        {
            _connections.TryRemove(pipe, out _);
        }
    }

    private void ScriptRecipient(string address, int code, string text, int times)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        if (code is < 400 or > 599)
        {
            throw new ArgumentOutOfRangeException(nameof(code), code, "Only 4yz and 5yz replies can be scripted here.");
        }

        lock (_gate) { _recipientRules[address.Trim()] = new Rule(code, text, times); }
    }

    /// <summary>Takes one use of a rule; returns it when it still applied.</summary>
    private static Rule? Use(ref Rule? rule)
    {
        if (rule is null || rule.Remaining <= 0)
        {
            rule = null;
            return null;
        }

        var used = rule;
        rule = rule.Remaining == Always ? rule : rule with { Remaining = rule.Remaining - 1 };
        return used;
    }

    private void CheckRecipient(string address)
    {
        _offered.Enqueue(address);
        Rule? applied = null;
        lock (_gate)
        {
            if (_recipientRules.TryGetValue(address, out var rule))
            {
                Rule? current = rule;
                applied = Use(ref current);
                if (current is null)
                {
                    _recipientRules.Remove(address);
                }
                else
                {
                    _recipientRules[address] = current;
                }
            }
        }

        if (applied is not null)
        {
            throw new SmtpResponseException(new SmtpResponse((SmtpReplyCode)applied.Code, applied.Text), quit: applied.Code == 421);
        }
    }

    private async Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction,
        ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
    {
        // SmtpServer hands over the data without the "\r\n.\r\n" that ends it; its CRLF belongs to the message
        byte[] raw = buffer.IsEmpty ? [] : [.. buffer.ToArray(), (byte)'\r', (byte)'\n'];
        var queueId = Convert.ToHexString(Guid.NewGuid().ToByteArray(), 0, 5);
        Rule? final;
        lock (_gate) { final = Use(ref _finalRule); }

        var code = final?.Code ?? 250;
        var text = final?.Text ?? $"2.0.0 Ok: queued as {queueId}";
        var pipe = context.Properties.TryGetValue(TestSmtpPipe.PropertyKey, out var value) ? value as TestSmtpPipe : null;
        var message = new ReceivedMessage
        {
            From = transaction.From is null || ReferenceEquals(transaction.From, Mailbox.Empty) ? "" : transaction.From.AsAddress(),
            Recipients = [.. transaction.To.Select(m => m.AsAddress())],
            Raw = raw,
            Message = MimeMessage.Load(new MemoryStream(raw, writable: false), cancellationToken),
            QueueId = queueId,
            ReplyText = text,
            Secure = context.Pipe.IsSecure,
            AuthenticatedUser = context.Authentication.IsAuthenticated ? context.Authentication.User : null,
            ConnectionNumber = pipe?.Number ?? 0,
            ReceivedAt = DateTimeOffset.UtcNow,
        };

        Hold? hold;
        lock (_gate)
        {
            (code is >= 200 and < 300 ? _messages : _rejected).Add(message);
            hold = _hold;
            if (hold is not null)
            {
                hold.Count++;
            }

            Changed();
        }

        if (hold is not null)
        {
            await hold.Released.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        return new SmtpResponse((SmtpReplyCode)code, text);
    }

    private sealed record Rule(int Code, string Text, int Remaining);

    /// <summary>One <see cref="HoldFinalReplies"/>: the dialogues it holds (counted under the gate) and its release.</summary>
    private sealed class Hold
    {
        public int Count { get; set; }

        public TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class ScriptedMailboxFilter(TestSmtpServer server) : MailboxFilter
    {
        public override Task<bool> CanDeliverToAsync(ISessionContext context, IMailbox to, IMailbox from,
            CancellationToken cancellationToken)
        {
            server.CheckRecipient(to.AsAddress());
            return Task.FromResult(true);
        }
    }

    private sealed class ScriptedMessageStore(TestSmtpServer server) : MessageStore
    {
        public override Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction,
            ReadOnlySequence<byte> buffer, CancellationToken cancellationToken) =>
            server.SaveAsync(context, transaction, buffer, cancellationToken);
    }

    private sealed class ScriptedAuthenticator(TestSmtpServer server) : UserAuthenticator
    {
        public override Task<bool> AuthenticateAsync(ISessionContext context, string user, string password,
            CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref server._authAttempts);
            return Task.FromResult(!string.IsNullOrEmpty(server._options.User)
                && string.Equals(user, server._options.User, StringComparison.Ordinal)
                && string.Equals(password, server._options.Password, StringComparison.Ordinal));
        }
    }
}
