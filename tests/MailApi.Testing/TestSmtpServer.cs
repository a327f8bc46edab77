using System.Buffers;
using System.Collections.Concurrent;
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

/// <summary>
/// An in-process SMTP server (the SmtpServer package) on 127.0.0.1 for integration tests, whose answers can be
/// scripted before or between sends: each RCPT TO, the final dot, and when the final reply goes out
/// (<see cref="HoldFinalReplies"/>); messages it takes are kept in <see cref="Messages"/>. Replies with an enhanced
/// code put it first in the text (<c>"5.1.1 User unknown"</c>). For faults below the dialogue (a hang-up, a broken
/// greeting, exact reply bytes) use <see cref="RawSmtpServer"/>.
/// </summary>
public sealed class TestSmtpServer : IAsyncDisposable
{
    private const int Always = int.MaxValue;
    private const string ServerName = "testsmtp.localhost";

    private readonly TestSmtpServerOptions _options;
    private readonly Lock _gate = new();
    private readonly List<ReceivedMessage> _messages = [];
    private readonly List<ReceivedMessage> _rejected = [];
    private readonly List<(Func<bool> Reached, TaskCompletionSource Done)> _waiters = [];
    private readonly ConcurrentQueue<string> _commands = new();
    private readonly ConcurrentDictionary<TestSmtpPipe, byte> _connections = new();
    private readonly Dictionary<string, Rule> _recipientRules = new(StringComparer.OrdinalIgnoreCase);
    private readonly CancellationTokenSource _stopping = new();
    private Rule? _finalRule;
    private Hold? _hold;
    private Task _running = Task.CompletedTask;
    private int _connectionCount;
    private int _authAttempts;
    private int _disposed;

    private TestSmtpServer(TestSmtpServerOptions options) => _options = options;

    /// <summary>The port the server listens on (on 127.0.0.1).</summary>
    public int Port { get; private set; }

    /// <summary>The messages taken (final reply 2yz, or held for one), in order of arrival. A snapshot.</summary>
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

    // ---- scripting ---------------------------------------------------------------------------------------

    /// <summary>Rejects RCPT TO:&lt;<paramref name="address"/>&gt; for good with 550 5.1.1, as Postfix words it.</summary>
    public void RejectRecipient(string address) =>
        ScriptRecipient(address, 550, $"5.1.1 <{address}>: Recipient address rejected: User unknown", Always);

    /// <summary>
    /// Defers RCPT TO:&lt;<paramref name="address"/>&gt; (by default 450 4.2.0, greylisting as Postfix words it)
    /// the next <paramref name="times"/> times, then accepts it.
    /// </summary>
    public void DeferRecipient(string address, int code = 450, string? text = null, int times = Always) =>
        ScriptRecipient(address, code, text ?? $"4.2.0 <{address}>: Recipient address rejected: Greylisted, try again later", times);

    /// <summary>
    /// Answers the final dot with <paramref name="code"/> and <paramref name="text"/> the next
    /// <paramref name="times"/> times, e.g. <c>FinalReply(554, "5.7.1 rejected")</c> or <c>FinalReply(451, "4.3.0 busy")</c>.
    /// A 2yz keeps the message (in <see cref="Messages"/>); other codes put it in <see cref="RejectedMessages"/>.
    /// The default is <c>250 2.0.0 Ok: queued as QUEUEID</c>.
    /// </summary>
    public void FinalReply(int code, string text, int times = Always)
    {
        if (code is < 200 or > 599)
        {
            throw new ArgumentOutOfRangeException(nameof(code), code, "A final reply code is 2yz, 4yz or 5yz.");
        }

        lock (_gate) { _finalRule = new Rule(code, text, times); }
    }

    /// <summary>
    /// Takes messages but holds the replies to their final dots until <see cref="ReleaseFinalReplies"/>: a test can act
    /// while the client waits for "250 queued as" (a message held is in <see cref="Messages"/> already), after
    /// <see cref="WaitForHeldRepliesAsync"/> says how many clients wait.
    /// </summary>
    public void HoldFinalReplies()
    {
        lock (_gate) { _hold ??= new Hold(); }
    }

    /// <summary>
    /// Answers the final dots held by <see cref="HoldFinalReplies"/>, and those to come without waiting (until the next
    /// <see cref="HoldFinalReplies"/>, whose count starts from zero).
    /// </summary>
    public void ReleaseFinalReplies()
    {
        Hold? hold;
        lock (_gate) { (hold, _hold) = (_hold, null); }
        hold?.Released.TrySetResult();
    }

    // ---- waiting -----------------------------------------------------------------------------------------

    /// <summary>Waits until at least <paramref name="count"/> messages were taken; returns all taken so far.</summary>
    /// <exception cref="TimeoutException">Fewer came in time.</exception>
    public async Task<IReadOnlyList<ReceivedMessage>> WaitForMessagesAsync(int count, TimeSpan timeout,
        CancellationToken cancellationToken = default)
    {
        await WaitUntilAsync(() => _messages.Count >= count, timeout, $"{count} message(s)", cancellationToken).ConfigureAwait(false);
        return Messages;
    }

    /// <summary>
    /// Waits until at least <paramref name="count"/> dialogues wait for their final reply under the current
    /// <see cref="HoldFinalReplies"/>: that many clients have sent a whole message and know nothing of its fate.
    /// </summary>
    /// <exception cref="TimeoutException">Fewer were held in time.</exception>
    public Task WaitForHeldRepliesAsync(int count, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WaitUntilAsync(() => _hold?.Count >= count, timeout, $"{count} held final reply(ies)", cancellationToken);

    private async Task WaitUntilAsync(Func<bool> reached, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        TaskCompletionSource done;
        lock (_gate)
        {
            if (reached())
            {
                return;
            }

            done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((reached, done));
        }

        try
        {
            await done.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            lock (_gate)
            {
                _waiters.RemoveAll(w => w.Done == done);
                throw new TimeoutException(
                    $"Waited {timeout} for {what} on 127.0.0.1:{Port}; got {_messages.Count} message(s), " +
                    $"{_hold?.Count ?? 0} held, {_rejected.Count} rejected at the final dot, {ConnectionCount} connection(s).");
            }
        }
    }

    /// <summary>Completes the waiters whose state is reached; called under the gate after every change.</summary>
    private void Changed()
    {
        foreach (var waiter in _waiters.Where(w => w.Reached()).ToList())
        {
            _waiters.Remove(waiter);
            waiter.Done.TrySetResult();
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
