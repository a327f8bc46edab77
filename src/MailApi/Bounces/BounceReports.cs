using MimeKit;

namespace MailApi.Bounces;

/// <summary>
/// Reads a mail that arrived at the bounce mailbox: a DSN (RFC 3464), an ARF complaint (RFC 5965), or something else
/// (an auto-reply, a plain-text bounce, junk). MimeKit does all MIME parsing; this class only reads the fields.
/// </summary>
public static class BounceReports
{
    /// <summary>
    /// Reads raw mail (RFC 5322 bytes). Never throws for what the mail contains (broken MIME, huge, empty, junk): such
    /// mail comes back as <see cref="ReportKind.Other"/> with the parse error as <see cref="ParsedReport.Reason"/>.
    /// Give the token a deadline: MimeKit's header parser takes time that grows with the square of one folded header's
    /// length (a 1 MB header, seconds), and it stops at the token (<see cref="OperationCanceledException"/>).
    /// </summary>
    public static ParsedReport Parse(Stream raw, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(raw);
        MimeMessage message;
        try
        {
            message = MimeMessage.Load(raw, cancellationToken);
        }
        catch (FormatException ex)
        {
            return Unreadable($"the mail could not be parsed: {ex.Message}");
        }
        using (message)
        {
            return Parse(message);
        }
    }

    /// <summary>Reads a parsed mail; never throws for what it contains (see <see cref="Parse(Stream, CancellationToken)"/>).</summary>
    public static ParsedReport Parse(MimeMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        try
        {
            return ReportReader.Read(message);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            // The bounce reader must go on with the next mail whatever this one holds; the reason keeps what went wrong.
            return Unreadable($"the report could not be read: {ex.GetType().Name}: {ex.Message}") with
            {
                From = ReportReader.FirstAddress(message.From),
                Subject = message.Subject,
            };
        }
    }

    /// <summary>
    /// Classifies an enhanced status code (RFC 3463): <see cref="BounceClass.Hard"/> for 5.1.x and 5.2.1 (the address is
    /// bad); <see cref="BounceClass.Soft"/> for 4.x.x (given up or delayed), 5.2.2 (mailbox full), 5.3.x and 5.4.x;
    /// <see cref="BounceClass.Policy"/> for 5.7.x; <see cref="BounceClass.Unknown"/> otherwise, null or unreadable too.
    /// </summary>
    public static BounceClass Classify(string? status)
    {
        var code = DsnFields.LeadingCode(status);
        if (code is null)
        {
            return BounceClass.Unknown;
        }
        var parts = code.Split('.');
        return (parts[0], parts[1], parts[2]) switch
        {
            ("4", _, _) => BounceClass.Soft,
            ("5", "1", _) or ("5", "2", "1") => BounceClass.Hard,
            ("5", "2", "2") or ("5", "3", _) or ("5", "4", _) => BounceClass.Soft,
            ("5", "7", _) => BounceClass.Policy,
            _ => BounceClass.Unknown,
        };
    }

    private static ParsedReport Unreadable(string reason) =>
        new(ReportKind.Other, null, null, null, null, null, null, [], [], false, reason);
}
