namespace MailApi.Delivery.Smtp;

/// <summary>What the pairing needs to know about a command to place the replies that follow it.</summary>
internal enum CommandKind : byte
{
    Normal,
    /// <summary>AUTH: a 334 reply is a SASL challenge, not the command's reply (RFC 4954 §4).</summary>
    Auth,
    /// <summary>DATA: a 354 reply starts the content (RFC 5321 §4.1.1.4).</summary>
    Data,
}

/// <summary>
/// Pairs each command with its reply. Replies come in the order of the commands, also when several commands went
/// out together (PIPELINING, RFC 2920 §3.1), so the oldest command still waiting gets the next reply; a reply no
/// command waits for (the greeting, or a 421 before the relay hangs up, RFC 5321 §3.8) is an entry without command.
/// </summary>
internal sealed class CommandReplyPairing
{
    private readonly record struct Pending(int Index, CommandKind Kind);

    private readonly List<TranscriptEntry> _entries = [];
    private Queue<Pending> _pending = new();
    private bool _awaitingSaslAnswer;
    // A reply that came during the message content, before the end of data was sent (a relay aborting the data
    // phase, e.g. "550" right after its 354): MailKit reads it as the reply to the end of data, and so does the transcript.
    private int _earlyReplyIndex = -1;

    /// <summary>The entries so far, oldest first (a snapshot).</summary>
    public IReadOnlyList<TranscriptEntry> Entries => _entries.ToArray();

    /// <summary>The last entry, or <c>null</c> when there is none.</summary>
    public TranscriptEntry? LastEntry => _entries.Count > 0 ? _entries[^1] : null;

    /// <summary>
    /// Forgets every entry except the commands still waiting for a reply, so that their replies still find them
    /// when the next transaction starts on the same connection.
    /// </summary>
    public void Clear()
    {
        _earlyReplyIndex = -1;
        if (_pending.Count == 0)
        {
            _entries.Clear();
            return;
        }

        var kept = new List<TranscriptEntry>(_pending.Count);
        var pending = new Queue<Pending>(_pending.Count);
        foreach (var p in _pending)
        {
            pending.Enqueue(p with { Index = kept.Count });
            kept.Add(_entries[p.Index]);
        }
        _entries.Clear();
        _entries.AddRange(kept);
        _pending = pending;
    }

    /// <summary>
    /// A new connection: no reply will come for the commands of the last one, which keep a <c>null</c> reply.
    /// </summary>
    public void NewConnection()
    {
        _pending.Clear();
        _awaitingSaslAnswer = false;
        _earlyReplyIndex = -1;
    }

    public void AddCommand(string command, CommandKind kind)
    {
        _pending.Enqueue(new Pending(_entries.Count, kind));
        _entries.Add(new TranscriptEntry(command, null));
    }

    /// <summary>
    /// Whether the client line just completed is the answer to a SASL challenge, which is never recorded.
    /// RFC 4954 §4: after a 334 the client's next line is its answer (or "*" to cancel), whatever it holds, and the
    /// server reads it as such.
    /// </summary>
    public bool TakeSaslAnswer()
    {
        if (!_awaitingSaslAnswer)
        {
            return false;
        }
        _awaitingSaslAnswer = false;
        return true;
    }

    /// <summary>
    /// Places a complete reply; returns the kind of the command it answered, or <c>null</c> for a SASL challenge
    /// (not recorded) or a reply no command waited for.
    /// </summary>
    /// <param name="reply">The reply.</param>
    /// <param name="duringContent">The client is between DATA and the end of data.</param>
    public CommandKind? AddReply(SmtpReply reply, bool duringContent)
    {
        if (_pending.Count == 0)
        {
            if (duringContent && _earlyReplyIndex < 0)
            {
                _earlyReplyIndex = _entries.Count;
            }
            _entries.Add(new TranscriptEntry(null, reply));
            return null;
        }

        var head = _pending.Peek();
        if (head.Kind == CommandKind.Auth && reply.Code == 334)
        {
            _awaitingSaslAnswer = true;
            return null;
        }

        _pending.Dequeue();
        _entries[head.Index] = _entries[head.Index] with { Reply = reply };
        if (head.Kind == CommandKind.Auth)
        {
            _awaitingSaslAnswer = false;
        }
        return head.Kind;
    }

    /// <summary>The client sent the end of data: the command <c>"."</c>, or the early reply it gets (see above).</summary>
    public void EndOfData()
    {
        var early = _earlyReplyIndex;
        _earlyReplyIndex = -1;
        if (early >= 0 && early == _entries.Count - 1)
        {
            _entries[early] = new TranscriptEntry(".", _entries[early].Reply);
            return;
        }
        AddCommand(".", CommandKind.Normal);
    }
}
