using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;

namespace MailApi.Bounces;

/// <summary>
/// One session with the bounce mailbox: its folder open read-write, and the two folders every mail read goes to. Mail is
/// never deleted: each is moved to Processed (its report matched a message) or Unmatched (anything else), and a mail is
/// moved only after its report is stored with the mail's UIDVALIDITY and UID, so a mail found again (a crash came
/// between the two) is known by those and only moved.
/// </summary>
internal sealed class ImapBounceMailbox
{
    /// <summary>Mail taken before their moves are sent: one MOVE a batch instead of one a mail.</summary>
    private const int Batch = 100;

    private readonly ImapClient _client;
    private readonly IMailFolder _folder;
    private readonly IMailFolder _processed;
    private readonly IMailFolder _unmatched;
    private readonly string _mailbox;
    private readonly BounceIntake _intake;
    private readonly IBounceStore _reports;
    private readonly long _maxBytes;
    private readonly ILogger _logger;
    private Action? _onArrival;

    private ImapBounceMailbox(ImapClient client, IMailFolder folder, IMailFolder processed, IMailFolder unmatched, string mailbox,
        BounceIntake intake, IBounceStore reports, long maxBytes, ILogger logger)
    {
        (_client, _folder, _processed, _unmatched, _mailbox) = (client, folder, processed, unmatched, mailbox);
        (_intake, _reports, _maxBytes, _logger) = (intake, reports, maxBytes, logger);
        // A change of the count while the reader waits is new mail (or someone else's expunge: a round that finds
        // nothing costs one SEARCH).
        folder.CountChanged += (_, _) =>
        {
            LookAgain = true;
            _onArrival?.Invoke();
        };
    }

    /// <summary>The folder's UIDVALIDITY: a change means its UIDs were renumbered, and every mail in it is new by UID.</summary>
    public uint UidValidity => _folder.UidValidity;

    /// <summary>
    /// Whether mail may be waiting that the last <see cref="TakeAllAsync"/> did not see: the count changed while it ran, or
    /// it took mail. Mail that arrives during a SEARCH is not in its answer, and the count after a MOVE is told once for
    /// the whole command (five moved and five arrived leave it as it was), so a round that took mail is followed by another.
    /// </summary>
    public bool LookAgain { get; private set; }

    /// <summary>Whether the last <see cref="TakeAllAsync"/> left mail in the folder because its report came too early (<see cref="ReportTooEarlyException"/>).</summary>
    public bool LeftForLater { get; private set; }

    /// <summary>Called (from within a command, such as IDLE) when mail arrives.</summary>
    public void OnArrival(Action? action) => _onArrival = action;

    /// <summary>Finds the folder, creates the two others when missing, and opens the folder read-write.</summary>
    public static async Task<ImapBounceMailbox> OpenAsync(ImapClient client, ImapIntakeOptions options, BounceIntake intake,
        IBounceStore reports, long maxBytes, ILogger logger, CancellationToken cancellationToken)
    {
        var folder = await FolderAsync(client, options.Folder, create: false, logger, cancellationToken);
        var processed = await FolderAsync(client, options.ProcessedFolder, create: true, logger, cancellationToken);
        var unmatched = await FolderAsync(client, options.UnmatchedFolder, create: true, logger, cancellationToken);
        await folder.OpenAsync(FolderAccess.ReadWrite, cancellationToken);
        return new ImapBounceMailbox(client, folder, processed, unmatched, options.MailboxUrl, intake, reports, maxBytes, logger);
    }

    /// <summary>
    /// Takes every mail in the folder, oldest first, and moves each. Returns false, having moved what it took, when the
    /// turn at reading was lost (another instance may be reading now).
    /// </summary>
    public async Task<bool> TakeAllAsync(IImapReaderTurn turn, CancellationToken cancellationToken)
    {
        (LookAgain, LeftForLater) = (false, false);
        // Without UIDPLUS a moved mail stays behind flagged \Deleted (see MoveAsync): it was taken already.
        var uids = await _folder.SearchAsync(SearchQuery.NotDeleted, cancellationToken);
        foreach (var batch in uids.Chunk(Batch))
        {
            var mails = await _folder.FetchAsync(batch, MessageSummaryItems.UniqueId | MessageSummaryItems.Size, cancellationToken);
            var (processed, unmatched) = (new List<UniqueId>(), new List<UniqueId>());
            var held = true;
            foreach (var mail in mails.OrderBy(m => m.UniqueId.Id))
            {
                if (!(held = await turn.IsHeldAsync(cancellationToken)))
                {
                    break;
                }
                switch (await TakeAsync(mail, cancellationToken))
                {
                    case true: processed.Add(mail.UniqueId); break;
                    case false: unmatched.Add(mail.UniqueId); break;
                    default: LeftForLater = true; break;
                }
            }
            LookAgain |= processed.Count + unmatched.Count > 0;
            await MoveAsync(processed, _processed, cancellationToken);
            await MoveAsync(unmatched, _unmatched, cancellationToken);
            if (!held)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Hands one mail to the intake, unless it was taken before; whether its report matched a message, or null when it came too early.</summary>
    private async Task<bool?> TakeAsync(IMessageSummary mail, CancellationToken cancellationToken)
    {
        var source = $"{_mailbox};UIDVALIDITY={_folder.UidValidity}/;UID={mail.UniqueId.Id}";
        if (await _reports.FindBySourceAsync(source, cancellationToken) is { } known)
        {
            _logger.LogInformation("Bounce mail UID {Uid} of {Mailbox} was taken before as report {ReportId}: moving it only",
                mail.UniqueId.Id, _mailbox, known.Id);
            return known.MatchedBy is not null;
        }
        if (mail.Size > _maxBytes)
        {
            // As POST /v1/bounces refuses it with a 413: not logged, and left whole in the Unmatched folder.
            _logger.LogWarning("Bounce mail UID {Uid} of {Mailbox} has {Size} bytes, more than Bounces:MaxReportBytes: moved to Unmatched unread",
                mail.UniqueId.Id, _mailbox, mail.Size);
            return false;
        }
        byte[] raw;
        try
        {
            using var stream = await _folder.GetStreamAsync(mail.UniqueId, cancellationToken);
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy, cancellationToken);
            raw = copy.ToArray();
        }
        catch (ImapCommandException ex)
        {
            // The server refuses this one mail (NO/BAD): it goes aside rather than stop the reader at it forever.
            _logger.LogWarning(ex, "The server would not hand out bounce mail UID {Uid} of {Mailbox}: moved to Unmatched unread", mail.UniqueId.Id, _mailbox);
            return false;
        }
        try
        {
            var (report, _) = await _intake.TakeAsync(raw, "imap", null, source, cancellationToken);
            return report.MatchedBy is not null;
        }
        catch (ReportTooEarlyException early)
        {
            _logger.LogInformation("Bounce mail UID {Uid} of {Mailbox} names message {MessageId}, still being delivered: left for the next round",
                mail.UniqueId.Id, _mailbox, early.MessageId);
            return null;
        }
    }

    /// <summary>
    /// Moves mail with MOVE where offered. Else copies it, flags the originals \Deleted and expunges those UIDs only
    /// (UID EXPUNGE, UIDPLUS); a plain EXPUNGE would also remove mail someone else flagged, so without UIDPLUS the originals
    /// stay flagged, and are skipped from then on.
    /// </summary>
    private async Task MoveAsync(List<UniqueId> uids, IMailFolder destination, CancellationToken cancellationToken)
    {
        if (uids.Count == 0)
        {
            return;
        }
        if (_client.Capabilities.HasFlag(ImapCapabilities.Move))
        {
            await _folder.MoveToAsync(uids, destination, cancellationToken);
            return;
        }
        await _folder.CopyToAsync(uids, destination, cancellationToken);
        await _folder.AddFlagsAsync(uids, MessageFlags.Deleted, silent: true, cancellationToken);
        if (_client.Capabilities.HasFlag(ImapCapabilities.UidPlus))
        {
            await _folder.ExpungeAsync(uids, cancellationToken);
        }
    }

    /// <summary>A folder by its name, nesting with <c>/</c> in the personal namespace whatever the server's separator.</summary>
    private static async Task<IMailFolder> FolderAsync(ImapClient client, string name, bool create, ILogger logger, CancellationToken cancellationToken)
    {
        if (string.Equals(name, "INBOX", StringComparison.OrdinalIgnoreCase))
        {
            return client.Inbox;
        }
        var folder = client.GetFolder(client.PersonalNamespaces[0]);
        foreach (var part in name.Split('/'))
        {
            try
            {
                folder = await folder.GetSubfolderAsync(part, cancellationToken);
            }
            catch (FolderNotFoundException) when (create)
            {
                folder = await folder.CreateAsync(part, isMessageFolder: true, cancellationToken)
                    ?? await folder.GetSubfolderAsync(part, cancellationToken);
                logger.LogInformation("Created the IMAP folder {Folder}", folder.FullName);
            }
        }
        return folder;
    }
}
