using System.Collections.Concurrent;

namespace MailApi.Testing;

/// <summary>
/// Postfix's answers, word for word, for a <see cref="RawSmtpServer.Dialogue"/> that a client logs in to: EHLO with
/// PIPELINING (optional), CHUNKING and <c>AUTH</c>; AUTH PLAIN and LOGIN with their 334 prompts (any credentials
/// pass); one recipient refused with 550 5.1.1; the final dot answered <c>250 2.0.0 Ok: queued as </c><see cref="QueueId"/>
/// or, with <see cref="HangUpAfterDot"/>, not at all. It keeps the command lines it answered (AUTH as
/// <c>AUTH MECHANISM ***</c>) and the credentials it was sent, to compare with what the client recorded.
/// </summary>
public sealed class PostfixAnswers
{
    public const string Greeting = "220 profbox.domain.local ESMTP Postfix";
    public const string QueueId = "4Y3Xq45ZKxz9sWN";

    private readonly ConcurrentQueue<string> _commands = new();
    private readonly ConcurrentQueue<string> _credentials = new();
    private Queue<string>? _prompts; // not null while an AUTH exchange is under way

    public bool Pipelining { get; init; } = true;

    public string AuthMechanisms { get; init; } = "PLAIN LOGIN";

    /// <summary>Whether EHLO also offers BINARYMIME, with which MailKit would send binary content by BDAT (RFC 3030).</summary>
    public bool BinaryMime { get; init; }

    /// <summary>The one address whose RCPT TO gets 550.</summary>
    public string? RefuseRecipient { get; init; }

    /// <summary>Whether the connection is reset instead of answering the final dot.</summary>
    public bool HangUpAfterDot { get; init; }

    public IReadOnlyList<string> Commands => [.. _commands];

    public IReadOnlyList<string> Credentials => [.. _credentials];

    /// <summary>The reply to <paramref name="line"/>, a command or an answer to an AUTH prompt; null to hang up.</summary>
    public string? Answer(string line)
    {
        if (_prompts is not null)
        {
            _credentials.Enqueue(line);
            return NextPrompt();
        }

        var verb = line.Split(' ', 2)[0].ToUpperInvariant();
        if (verb == "AUTH")
        {
            return Auth(line.Split(' '));
        }

        _commands.Enqueue(line);
        return verb switch
        {
            "EHLO" => "250-profbox.domain.local\r\n" + (Pipelining ? "250-PIPELINING\r\n" : "")
                + $"250-SIZE 10240000\r\n250-CHUNKING\r\n250-8BITMIME\r\n" + (BinaryMime ? "250-BINARYMIME\r\n" : "")
                + $"250 AUTH {AuthMechanisms}",
            "RCPT" when RefuseRecipient is not null && line.Contains(RefuseRecipient, StringComparison.Ordinal) =>
                $"550 5.1.1 <{RefuseRecipient}>: Recipient address rejected: User unknown",
            "." when HangUpAfterDot => null,
            "." => $"250 2.0.0 Ok: queued as {QueueId}",
            _ => RawSmtpServer.DefaultAnswer(line),
        };
    }

    private string Auth(string[] parts)
    {
        _commands.Enqueue($"AUTH {parts[1]} ***");
        _prompts = new Queue<string>(parts[1].Equals("LOGIN", StringComparison.OrdinalIgnoreCase)
            ? ["334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6"] // "Username:", "Password:"
            : ["334 "]);
        if (parts.Length > 2)
        {
            // An initial response answers the first prompt.
            _credentials.Enqueue(parts[2]);
            _prompts.Dequeue();
        }
        return NextPrompt();
    }

    private string NextPrompt()
    {
        if (_prompts!.TryDequeue(out var prompt))
        {
            return prompt;
        }
        _prompts = null;
        return "235 2.7.0 Authentication successful";
    }
}
