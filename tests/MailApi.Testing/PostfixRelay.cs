using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using MimeKit;

namespace MailApi.Testing;

/// <summary>
/// The real Postfix that <c>tests/relays/postfix.sh start</c> runs on 127.0.0.1 (see that script), found through the
/// <c>relay.env</c> file it writes in <c>$MAILAPI_POSTFIX_DIR</c> (default <c>/tmp/mailapi-postfix</c>).
/// <see cref="Require"/> skips the calling test, saying how to start it, when it is not running.
/// </summary>
public sealed partial class PostfixRelay
{
    public const string Category = "Postfix";

    private const string HowToStart =
        "run `sudo bash tests/relays/postfix.sh start` (as root; it installs Postfix with apt-get when missing). .ci/run starts it itself.";

    private static readonly Lazy<(PostfixRelay? Relay, string Why)> Found = new(Find);

    private PostfixRelay(IReadOnlyDictionary<string, string> env)
    {
        Port = int.Parse(env["POSTFIX_PORT"]);
        LoginPort = int.Parse(env["POSTFIX_LOGIN_PORT"]);
        Maildir = env["POSTFIX_MAILDIR"];
        RelayedMaildir = env["POSTFIX_RELAYED_MAILDIR"];
        LogFile = env["POSTFIX_LOG"];
        User = env["POSTFIX_USER"];
        Password = env["POSTFIX_PASSWORD"];
        // Absent from a relay.env written before the script relayed test domains (it reconfigures such a Postfix at start).
        RemotePort = env.TryGetValue("POSTFIX_REMOTE_PORT", out var remote) ? int.Parse(remote) : null;
        BounceMaildir = env.GetValueOrDefault("POSTFIX_BOUNCE_MAILDIR");
    }

    /// <summary>The listener offering AUTH PLAIN and LOGIN (after STARTTLS).</summary>
    public int Port { get; }

    /// <summary>A second listener of the same Postfix that offers AUTH LOGIN only, as in the tutorial.</summary>
    public int LoginPort { get; }

    /// <summary>The Maildir of domain.local (every local recipient; one file per recipient).</summary>
    public string Maildir { get; }

    /// <summary>The Maildir that takes every relayed (non-local) recipient instead of the internet.</summary>
    public string RelayedMaildir { get; }

    /// <summary>
    /// The listener posing as the test domains' own server (hard.test, full.test, policy.test, later.test): Postfix
    /// relays them there after its 250, is refused at RCPT, and mails a DSN to the envelope sender.
    /// </summary>
    public int? RemotePort { get; }

    /// <summary>The Maildir of bounces@domain.local, where DSNs to a <c>bounces+TOKEN@domain.local</c> return path arrive.</summary>
    public string? BounceMaildir { get; }

    /// <summary>Postfix's <c>maillog_file</c>.</summary>
    private string LogFile { get; }

    public string User { get; }

    public string Password { get; }

    /// <summary>The running Postfix, or a skip (with how to start it) when there is none.</summary>
    public static PostfixRelay Require()
    {
        var (relay, why) = Found.Value;
        if (relay is null)
        {
            Assert.Skip($"No Postfix test relay: {why}; {HowToStart}");
        }
        return relay;
    }

    /// <summary>
    /// The files of <paramref name="maildir"/> that carry <paramref name="messageId"/> (with its angle brackets),
    /// waiting until there are <paramref name="count"/> of them (Postfix delivers a moment after its 250).
    /// </summary>
    public static async Task<IReadOnlyList<MaildirCopy>> WaitForCopiesAsync(string maildir, string messageId, int count, TimeSpan timeout)
    {
        try
        {
            await Poll.UntilAsync(() => Copies(maildir, messageId).Count >= count, timeout, $"{count} copies of {messageId}");
        }
        catch (TimeoutException)
        {
            // The caller's assertions on what did arrive say more than the timeout.
        }
        return Copies(maildir, messageId);
    }

    /// <summary>The files of <paramref name="maildir"/> (new and cur) that carry <paramref name="messageId"/>, now.</summary>
    public static IReadOnlyList<MaildirCopy> Copies(string maildir, string messageId)
    {
        var copies = new List<MaildirCopy>();
        foreach (var sub in new[] { "new", "cur" })
        {
            var folder = Path.Combine(maildir, sub);
            if (!Directory.Exists(folder))
            {
                continue;
            }
            foreach (var file in Directory.EnumerateFiles(folder))
            {
                var bytes = File.ReadAllBytes(file);
                var text = Encoding.UTF8.GetString(bytes);
                if (!text.Contains("Message-ID: " + messageId, StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }
                using var stream = new MemoryStream(bytes);
                copies.Add(new MaildirCopy(file, text, MimeMessage.Load(stream)));
            }
        }
        return copies;
    }

    /// <summary>
    /// The queue id Postfix's cleanup logged for <paramref name="messageId"/>
    /// (<c>postfix-mailapi/cleanup[..]: 092D0CD01: message-id=&lt;…&gt;</c>), waiting for the line to appear.
    /// </summary>
    public async Task<string?> LoggedQueueIdAsync(string messageId, TimeSpan timeout)
    {
        string? queueId = null;
        try
        {
            await Poll.UntilAsync(() => (queueId = LoggedQueueId(messageId)) is not null, timeout, $"cleanup's line for {messageId}");
        }
        catch (TimeoutException)
        {
        }
        return queueId;
    }

    private string? LoggedQueueId(string messageId) => LogLines()
        .Select(line => CleanupMessageId().Match(line))
        .Where(match => match.Success && match.Groups["msgid"].Value == messageId)
        .Select(match => match.Groups["qid"].Value)
        .FirstOrDefault();

    /// <summary>The log lines that mention <paramref name="text"/>.</summary>
    public IReadOnlyList<string> LogLinesWith(string text) =>
        LogLines().Where(l => l.Contains(text, StringComparison.Ordinal)).ToList();

    private IEnumerable<string> LogLines()
    {
        using var stream = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            yield return line;
        }
    }

    /// <summary>The relay <c>tests/relays/postfix.sh start</c> configured in <paramref name="dir"/>, as its relay.env describes it.</summary>
    /// <exception cref="InvalidOperationException">There is no such file, or it lacks what a relay has.</exception>
    public static PostfixRelay At(string dir) => EnvFile.Read(Path.Combine(dir, "relay.env"), env => new PostfixRelay(env));

    private static (PostfixRelay?, string) Find()
    {
        var (relay, why) = EnvFile.Find("MAILAPI_POSTFIX_DIR", "/tmp/mailapi-postfix", At);
        if (relay is null)
        {
            return (null, why);
        }
        foreach (var port in new[] { relay.Port, relay.LoginPort })
        {
            if (Greeting(port) is not { } greeting || !greeting.StartsWith("220 ", StringComparison.Ordinal))
            {
                return (null, $"nothing greets with 220 on 127.0.0.1:{port}");
            }
        }
        if (!File.Exists(relay.LogFile))
        {
            return (null, $"its log {relay.LogFile} does not exist");
        }
        try
        {
            _ = Directory.EnumerateFiles(relay.Maildir).Any();
        }
        catch (UnauthorizedAccessException)
        {
            return (null, $"this user cannot read {relay.Maildir} (run the tests as root)");
        }
        catch (DirectoryNotFoundException)
        {
            // Created by Postfix with the first local delivery.
        }
        return (relay, "");
    }

    internal static string? Greeting(int port)
    {
        try
        {
            using var tcp = new TcpClient();
            tcp.Connect("127.0.0.1", port);
            tcp.ReceiveTimeout = 5000;
            using var reader = new StreamReader(tcp.GetStream(), Encoding.ASCII);
            var line = reader.ReadLine();
            tcp.GetStream().Write("QUIT\r\n"u8);
            return line;
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            return null;
        }
    }

    [GeneratedRegex(@"/cleanup\[\d+\]: (?<qid>[0-9A-Za-z]+): message-id=(?<msgid><[^>]*>)")]
    private static partial Regex CleanupMessageId();
}

/// <summary>One delivered copy in a Maildir: its file, its text and the parsed message.</summary>
public sealed record MaildirCopy(string File, string Text, MimeMessage Message)
{
    /// <summary>The recipient this copy was delivered to (the Delivered-To: header virtual(8) adds).</summary>
    public string? DeliveredTo => Message.Headers["Delivered-To"];
}
