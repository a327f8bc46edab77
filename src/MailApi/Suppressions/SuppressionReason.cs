namespace MailApi.Suppressions;

/// <summary>Why an address is on a key's suppression list. Serialised in snake_case (<c>hard_bounce</c>).</summary>
public enum SuppressionReason
{
    /// <summary>A bounce after the relay took the message said the address does not exist (a <c>hard</c> bounce).</summary>
    HardBounce,
    /// <summary>The relay refused the address at RCPT TO with a <c>5.1.x</c> code: it does not exist.</summary>
    Rejected,
    /// <summary>The recipient reported a message as spam (an ARF feedback report).</summary>
    Complaint,
    /// <summary>Put there by the caller.</summary>
    Manual,
    /// <summary>
    /// <c>Suppressions:SoftBouncesBeforeSuppress</c> soft bounces in a row (a full mailbox, say): the address may work again,
    /// so the entry expires after <c>Suppressions:SoftBounceExpiry</c>.
    /// </summary>
    SoftBounce,
}

/// <summary>The reasons as the API and the store spell them.</summary>
public static class SuppressionReasons
{
    private static readonly string[] Names =
        Enum.GetValues<SuppressionReason>().Select(r => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(r.ToString())).ToArray();

    /// <summary>Every reason's name, in order: <c>hard_bounce, rejected, complaint, manual, soft_bounce</c>.</summary>
    public static IReadOnlyList<string> All => Names;

    /// <summary>The reason as the API spells it: <c>hard_bounce</c>.</summary>
    public static string Name(this SuppressionReason reason) => Names[(int)reason];

    /// <summary>The reason spelled <paramref name="name"/>, or null.</summary>
    public static SuppressionReason? Parse(string? name) => Array.IndexOf(Names, name) is var i and >= 0 ? (SuppressionReason)i : null;
}
