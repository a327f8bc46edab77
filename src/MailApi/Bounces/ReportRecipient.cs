namespace MailApi.Bounces;

/// <summary>One recipient group of a DSN, one complained-about recipient of an ARF report, or one address a
/// plain-text bounce names as failed.</summary>
/// <param name="Address">Original-Recipient (the ORCPT the sender gave) when present, else Final-Recipient; for an ARF
/// report Original-Rcpt-To. The address type (<c>rfc822;</c>) and angle brackets are removed; the case is kept.</param>
/// <param name="FinalRecipient">Final-Recipient without its address type, null when absent.</param>
/// <param name="Action">Lower case: <c>failed</c>, <c>delayed</c>, <c>delivered</c>, <c>relayed</c>, <c>expanded</c>;
/// <c>complaint</c> for an ARF report.</param>
/// <param name="Status">The enhanced status code that counts: <c>Status</c>, or the code inside <c>Diagnostic-Code</c>
/// when <c>Status</c> is only <c>x.0.0</c> (Exim reports <c>5.0.0</c> and puts <c>550 5.1.1</c> in the diagnostic).</param>
/// <param name="Diagnostic"><c>Diagnostic-Code</c> with its type (<c>smtp; 550 5.1.1 …</c>), folding removed; for an
/// ARF report its Feedback-Type; for a plain-text bounce the text it gives for the address, if any.</param>
/// <param name="RemoteMta">Remote-MTA without its type (<c>dns; mx.example</c> gives <c>mx.example</c>).</param>
/// <param name="Class">The classification of <paramref name="Status"/>.</param>
public sealed record ReportRecipient(
    string Address,
    string? FinalRecipient,
    string Action,
    string? Status,
    string? Diagnostic,
    string? RemoteMta,
    BounceClass Class);
