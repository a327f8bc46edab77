using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using MimeKit;
using SmtpServer;
using SmtpServer.Authentication;
using SmtpServer.Mail;
using SmtpServer.Protocol;
using SmtpServer.Storage;
using SmtpServerHost = SmtpServer.SmtpServer;

namespace MailApi.Testing;

/// <summary>How a <see cref="TestSmtpServer"/> is set up; the replies are scripted on the server itself.</summary>
public sealed record TestSmtpServerOptions
{
    /// <summary>The port on 127.0.0.1; 0 (the default) takes a free one.</summary>
    public int Port { get; init; }

    /// <summary>The name in the greeting and the EHLO reply.</summary>
    public string ServerName { get; init; } = "testsmtp.localhost";

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

    /// <summary>Whether the server offers STARTTLS, with <see cref="Certificate"/> or a self-signed CN=localhost one.</summary>
    public bool StartTls { get; init; }

    /// <summary>The certificate for STARTTLS; <see cref="TestCertificate.Localhost"/> when null.</summary>
    public X509Certificate2? Certificate { get; init; }

    /// <summary>The advertised <c>SIZE</c>, enforced; 0 advertises nothing.</summary>
    public int MaxMessageSize { get; init; }
}

/// <summary>
/// An in-process SMTP server (the SmtpServer package) on 127.0.0.1 for integration tests, whose answers can be
/// scripted before or between sends: MAIL FROM, each RCPT TO, the final dot; messages it takes are kept in
/// <see cref="Messages"/>. Replies with an enhanced code put it first in the text (<c>"5.1.1 User unknown"</c>);
/// a <c>\n</c> in a reply text makes a multi-line reply.
/// </summary>
public sealed class TestSmtpServer : IAsyncDisposable
{
    /// <summary>Scripted rules that apply "for ever".</summary>
    public const int Always = int.MaxValue;

    private readonly TestSmtpServerOptions _options;
    private readonly Lock _gate = new();
    private readonly List<ReceivedMessage> _messages = [];
    private readonly List<ReceivedMessage> _rejected = [];
    private readonly List<(int Count, TaskCompletionSource<IReadOnlyList<ReceivedMessage>> Done)> _waiters = [];
    private readonly ConcurrentQueue<string> _commands = new();
    private readonly ConcurrentDictionary<TestSmtpPipe, byte> _connections = new();
    private readonly Dictionary<string, Rule> _recipientRules = new(StringComparer.OrdinalIgnoreCase);
    private readonly CancellationTokenSource _stopping = new();
    private Rule? _mailFromRule;
    private Rule? _finalRule;
    private int _dropAfterData;
    private TimeSpan _finalReplyDelay;
    private TaskCompletionSource? _finalReplyHold;
    private Task _running = Task.CompletedTask;
    private int _connectionCount;
    private int _authAttempts;
    private int _authFailures;
    private int _waitCursor;
    private int _disposed;

    private TestSmtpServer(TestSmtpServerOptions options) => _options = options;

    /// <summary>Always 127.0.0.1.</summary>
    public string Host => "127.0.0.1";

    /// <summary>The port the server listens on.</summary>
    public int Port { get; private set; }

    /// <summary>The options the server was started with.</summary>
    public TestSmtpServerOptions Options => _options;

    /// <summary>The STARTTLS certificate, or null without STARTTLS.</summary>
    public X509Certificate2? Certificate { get; private set; }

    /// <summary>The messages taken (final reply 2yz), in order of arrival. A snapshot.</summary>
    public IReadOnlyList<ReceivedMessage> Messages
    {
        get { lock (_gate) { return [.. _messages]; } }
    }

    /// <summary>The messages whose final dot was answered with a scripted 4yz/5yz. A snapshot.</summary>
    public IReadOnlyList<ReceivedMessage> RejectedMessages
    {
        get { lock (_gate) { return [.. _rejected]; } }
    }

    /// <summary>How many TCP connections were accepted.</summary>
    public int ConnectionCount => Volatile.Read(ref _connectionCount);

    /// <summary>How many AUTH exchanges reached the authenticator (successful or not).</summary>
    public int AuthAttempts => Volatile.Read(ref _authAttempts);

    /// <summary>How many AUTH exchanges were refused with 535.</summary>
    public int AuthFailures => Volatile.Read(ref _authFailures);

    /// <summary>The names of the commands the server executed (<c>EHLO</c>, <c>MAIL</c>, <c>RCPT</c>, …), in order.</summary>
    public IReadOnlyList<string> Commands => [.. _commands];

    /// <summary>Starts a server and waits until it listens.</summary>
    public static async Task<TestSmtpServer> StartAsync(TestSmtpServerOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var server = new TestSmtpServer(options ?? new TestSmtpServerOptions());
        try
        {
            await server.RunAsync(cancellationToken).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Starts a server and waits until it listens (blocking form of <see cref="StartAsync"/>).</summary>
    public static TestSmtpServer Start(TestSmtpServerOptions? options = null) =>
        StartAsync(options).GetAwaiter().GetResult();

    // ---- scripting ---------------------------------------------------------------------------------------

    /// <summary>
    /// Answers MAIL FROM with <paramref name="code"/> (4yz or 5yz) <paramref name="times"/> times, then accepts
    /// again. A 421 also closes the connection. E.g. <c>MailFromReply(451, "4.3.0 Try again later")</c>.
    /// </summary>
    public void MailFromReply(int code, string text, int times = Always)
    {
        lock (_gate) { _mailFromRule = new Rule(CheckFailureCode(code), Normalize(text), times); }
    }

    /// <summary>Rejects RCPT TO:&lt;<paramref name="address"/>&gt; for good (by default 550 5.1.1 …).</summary>
    public void RejectRecipient(string address, int code = 550, string? text = null) =>
        RecipientReply(address, code, text ?? $"5.1.1 <{address}>: Recipient address rejected: User unknown", Always);

    /// <summary>Defers RCPT TO:&lt;<paramref name="address"/>&gt; every time (by default 450 4.2.0 …).</summary>
    public void DeferRecipient(string address, int code = 450, string? text = null) =>
        DeferRecipientTimes(address, Always, code, text);

    /// <summary>Defers RCPT TO:&lt;<paramref name="address"/>&gt; the next <paramref name="times"/> times, then accepts it.</summary>
    public void DeferRecipientTimes(string address, int times, int code = 450, string? text = null) =>
        RecipientReply(address, code, text ?? $"4.2.0 <{address}>: Recipient address rejected: Greylisted, try again later", times);

    /// <summary>Answers RCPT TO:&lt;<paramref name="address"/>&gt; with any 4yz/5yz, <paramref name="times"/> times.</summary>
    public void RecipientReply(string address, int code, string text, int times = Always)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        lock (_gate) { _recipientRules[address.Trim()] = new Rule(CheckFailureCode(code), Normalize(text), times); }
    }

    /// <summary>Accepts <paramref name="address"/> again (removes its rule).</summary>
    public void AcceptRecipient(string address)
    {
        lock (_gate) { _recipientRules.Remove(address.Trim()); }
    }

    /// <summary>
    /// Answers the final dot with <paramref name="code"/> and <paramref name="text"/> the next
    /// <paramref name="times"/> times, e.g. <c>FinalReply(554, "5.7.1 rejected")</c> or <c>FinalReply(451, "4.3.0 busy")</c>.
    /// A 2yz keeps the message (in <see cref="Messages"/>); other codes put it in <see cref="RejectedMessages"/>.
    /// The default is <c>250 2.0.0 Ok: queued as QUEUEID</c>; <c>{id}</c> in the text becomes the queue id.
    /// </summary>
    public void FinalReply(int code, string text, int times = Always)
    {
        if (code is < 200 or > 599)
        {
            throw new ArgumentOutOfRangeException(nameof(code), code, "A final reply code is 2yz, 4yz or 5yz.");
        }

        lock (_gate) { _finalRule = new Rule(code, Normalize(text), times); }
    }

    /// <summary>
    /// The next <paramref name="times"/> messages are taken (kept in <see cref="Messages"/>) but the connection is
    /// reset instead of answering the final dot: the client cannot know whether the message was taken.
    /// </summary>
    public void DropConnectionAfterData(int times = 1)
    {
        lock (_gate) { _dropAfterData = times; }
    }

    /// <summary>Waits this long before answering the final dot (for client timeouts).</summary>
    public void DelayFinalReply(TimeSpan delay)
    {
        lock (_gate) { _finalReplyDelay = delay; }
    }

    /// <summary>
    /// Takes messages but holds the replies to their final dots until <see cref="ReleaseFinalReplies"/>: a test can act
    /// while the client waits for "250 queued as" (a message held is in <see cref="Messages"/> already).
    /// </summary>
    public void HoldFinalReplies()
    {
        lock (_gate) { _finalReplyHold ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously); }
    }

    /// <summary>Answers the final dots held by <see cref="HoldFinalReplies"/>, and those to come without waiting.</summary>
    public void ReleaseFinalReplies()
    {
        TaskCompletionSource? hold;
        lock (_gate) { (hold, _finalReplyHold) = (_finalReplyHold, null); }
        hold?.TrySetResult();
    }

    /// <summary>Forgets every scripted reply: everything is accepted again.</summary>
    public void ResetScript()
    {
        lock (_gate)
        {
            _mailFromRule = null;
            _finalRule = null;
            _recipientRules.Clear();
            _dropAfterData = 0;
            _finalReplyDelay = TimeSpan.Zero;
        }
    }

    // ---- waiting -----------------------------------------------------------------------------------------

    /// <summary>
    /// The next taken message that no earlier call returned (the first call gives the first message, and so on);
    /// waits up to <paramref name="timeout"/> for it.
    /// </summary>
    /// <exception cref="TimeoutException">No such message came in time.</exception>
    public async Task<ReceivedMessage> WaitForMessageAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var index = Interlocked.Increment(ref _waitCursor) - 1;
        var messages = await WaitForMessagesAsync(index + 1, timeout, cancellationToken).ConfigureAwait(false);
        return messages[index];
    }

    /// <summary>Waits until at least <paramref name="count"/> messages were taken; returns all taken so far.</summary>
    /// <exception cref="TimeoutException">Fewer came in time.</exception>
    public async Task<IReadOnlyList<ReceivedMessage>> WaitForMessagesAsync(int count, TimeSpan timeout,
        CancellationToken cancellationToken = default)
    {
        TaskCompletionSource<IReadOnlyList<ReceivedMessage>> done;
        lock (_gate)
        {
            if (_messages.Count >= count)
            {
                return [.. _messages];
            }

            done = new TaskCompletionSource<IReadOnlyList<ReceivedMessage>>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((count, done));
        }

        try
        {
            return await done.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            lock (_gate)
            {
                _waiters.RemoveAll(w => w.Done == done);
                throw new TimeoutException(
                    $"Waited {timeout} for {count} message(s) on {Host}:{Port}; got {_messages.Count} " +
                    $"({_rejected.Count} rejected at the final dot, {ConnectionCount} connection(s)).");
            }
        }
    }

    // ---- lifetime ----------------------------------------------------------------------------------------

    /// <summary>Stops listening, resets open connections and frees the port.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var connection in _connections.Keys)
        {
            connection.Abort();
        }

        try
        {
            await _running.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        catch (TimeoutException)
        {
        }

        _stopping.Dispose();
        lock (_gate)
        {
            foreach (var waiter in _waiters)
            {
                waiter.Done.TrySetException(new ObjectDisposedException(nameof(TestSmtpServer)));
            }

            _waiters.Clear();
        }
    }

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

        Certificate = _options.StartTls ? _options.Certificate ?? TestCertificate.Localhost : null;
        var builder = new SmtpServerOptionsBuilder()
            .ServerName(_options.ServerName)
            .MaxRetryCount(1000) // SmtpServer ends a session after this many error replies in a row
            .CustomSmtpGreeting(_ => $"220 {_options.ServerName} ESMTP TestSmtpServer")
            .Endpoint(endpoint =>
            {
                endpoint.Endpoint(new IPEndPoint(IPAddress.Loopback, _options.Port))
                    .AllowUnsecureAuthentication(_options.AllowAuthWithoutTls && !string.IsNullOrEmpty(_options.User))
                    .AuthenticationRequired(_options.RequireAuth)
                    .SupportedSslProtocols(SslProtocols.Tls12 | SslProtocols.Tls13);
                if (Certificate is not null)
                {
                    endpoint.Certificate(Certificate);
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
                $"TestSmtpServer could not listen on {Host}:{_options.Port}: " +
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

    private static int CheckFailureCode(int code) => code is >= 400 and <= 599
        ? code
        : throw new ArgumentOutOfRangeException(nameof(code), code, "Only 4yz and 5yz replies can be scripted here.");

    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal);

    private static SmtpResponseException Failure(Rule rule) =>
        new(new SmtpResponse((SmtpReplyCode)rule.Code, rule.Text), quit: rule.Code == 421);

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

    private void CheckMailFrom()
    {
        Rule? applied;
        lock (_gate) { applied = Use(ref _mailFromRule); }

        if (applied is not null)
        {
            throw Failure(applied);
        }
    }

    private void CheckRecipient(string address)
    {
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
            throw Failure(applied);
        }
    }

    private async Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction,
        ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
    {
        // SmtpServer hands over the data without the "\r\n.\r\n" that ends it; its CRLF belongs to the message
        byte[] raw = buffer.IsEmpty ? [] : [.. buffer.ToArray(), (byte)'\r', (byte)'\n'];
        var queueId = MakeQueueId();
        Rule? final;
        bool drop;
        TimeSpan delay;
        Task held;
        lock (_gate)
        {
            held = _finalReplyHold?.Task ?? Task.CompletedTask;
            final = Use(ref _finalRule);
            drop = _dropAfterData > 0;
            if (drop)
            {
                _dropAfterData--;
            }

            delay = _finalReplyDelay;
        }

        var code = final?.Code ?? 250;
        var text = final?.Text.Replace("{id}", queueId, StringComparison.Ordinal) ?? $"2.0.0 Ok: queued as {queueId}";
        var pipe = context.Properties.TryGetValue(TestSmtpPipe.PropertyKey, out var value) ? value as TestSmtpPipe : null;
        var message = new ReceivedMessage
        {
            From = transaction.From is null || ReferenceEquals(transaction.From, Mailbox.Empty) ? "" : transaction.From.AsAddress(),
            Recipients = [.. transaction.To.Select(m => m.AsAddress())],
            Raw = raw,
            Message = MimeMessage.Load(new MemoryStream(raw, writable: false), cancellationToken),
            QueueId = queueId,
            ReplyCode = drop ? 0 : code,
            ReplyText = drop ? "(connection dropped)" : text,
            Secure = context.Pipe.IsSecure,
            AuthenticatedUser = context.Authentication.IsAuthenticated ? context.Authentication.User : null,
            ConnectionNumber = pipe?.Number ?? 0,
            ReceivedAt = DateTimeOffset.UtcNow,
        };

        lock (_gate)
        {
            if (drop || code is >= 200 and < 300)
            {
                _messages.Add(message);
                foreach (var waiter in _waiters.Where(w => _messages.Count >= w.Count).ToList())
                {
                    _waiters.Remove(waiter);
                    waiter.Done.TrySetResult([.. _messages]);
                }
            }
            else
            {
                _rejected.Add(message);
            }
        }

        if (drop)
        {
            pipe?.Abort();
            throw new IOException("TestSmtpServer dropped the connection after DATA, as scripted.");
        }

        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
        await held.WaitAsync(cancellationToken).ConfigureAwait(false);

        return new SmtpResponse((SmtpReplyCode)code, text);
    }

    private static string MakeQueueId() => Convert.ToHexString(Guid.NewGuid().ToByteArray(), 0, 5);

    private sealed record Rule(int Code, string Text, int Remaining);

    private sealed class ScriptedMailboxFilter(TestSmtpServer server) : MailboxFilter
    {
        public override Task<bool> CanAcceptFromAsync(ISessionContext context, IMailbox from, int size,
            CancellationToken cancellationToken)
        {
            server.CheckMailFrom();
            return Task.FromResult(true);
        }

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
            var ok = !string.IsNullOrEmpty(server._options.User)
                && string.Equals(user, server._options.User, StringComparison.Ordinal)
                && string.Equals(password, server._options.Password, StringComparison.Ordinal);
            if (!ok)
            {
                Interlocked.Increment(ref server._authFailures);
            }

            return Task.FromResult(ok);
        }
    }
}
