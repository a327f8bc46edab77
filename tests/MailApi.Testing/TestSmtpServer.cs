using System.Collections.Concurrent;

namespace MailApi.Testing;

/// <summary>
/// An in-process SMTP server (the SmtpServer package) on 127.0.0.1 for integration tests, whose answers can be
/// scripted before or between sends: each RCPT TO, the final dot, and when the final reply goes out
/// (<see cref="HoldFinalReplies"/>); messages it takes are kept in <see cref="Messages"/>. Replies with an enhanced
/// code put it first in the text (<c>"5.1.1 User unknown"</c>). For faults below the dialogue (a hang-up, a broken
/// greeting, exact reply bytes) use <see cref="RawSmtpServer"/>.
/// </summary>
public sealed partial class TestSmtpServer : IAsyncDisposable
{
    private const int Always = int.MaxValue;
    private const string ServerName = "testsmtp.localhost";

    private readonly TestSmtpServerOptions _options;
    private readonly Lock _gate = new();
    private readonly List<ReceivedMessage> _messages = [];
    private readonly List<ReceivedMessage> _rejected = [];
    private readonly List<(Func<bool> Reached, TaskCompletionSource Done)> _waiters = [];
    private readonly ConcurrentQueue<string> _commands = new();
    private readonly ConcurrentQueue<string> _offered = new();
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

    /// <summary>Every address offered in a RCPT TO, accepted or not, in order (as the client spelled it).</summary>
    public IReadOnlyList<string> RecipientsOffered => [.. _offered];

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

    /// <summary>Refuses RCPT TO:&lt;<paramref name="address"/>&gt; for good with <paramref name="code"/> and <paramref name="text"/>
    /// (e.g. <c>550, "5.7.1 &lt;x&gt;: Relay access denied"</c>).</summary>
    public void RejectRecipient(string address, int code, string text) => ScriptRecipient(address, code, text, Always);

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
}
