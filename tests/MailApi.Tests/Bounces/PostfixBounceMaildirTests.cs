using MailApi.Tests.Infrastructure;
using static MailApi.Tests.Delivery.RelayDialogue;

namespace MailApi.Tests.Bounces;

/// <summary>
/// What the shared Postfix relay (tests/relays/postfix.sh) does after its 250, which the IMAP intake's tests read back:
/// a test domain refused by the remote listener comes back as Postfix's own DSN, delivered to the token return path's
/// exact address in the bounces Maildir.
/// </summary>
[Trait("Category", PostfixRelay.Category)]
public sealed class PostfixBounceMaildirTests
{
    [Fact]
    public async Task A_recipient_refused_after_the_250_comes_back_as_a_dsn_in_the_bounces_maildir()
    {
        var postfix = PostfixRelay.Require();
        if (postfix.BounceMaildir is null)
        {
            Assert.Skip("The running Postfix relay predates its bounces Maildir: `sudo bash tests/relays/postfix.sh start` configures it again.");
        }
        using var factory = new MailApiFactory(postfix.Port, new Dictionary<string, string?>
        {
            ["Smtp:Security"] = "StartTls",
            ["Smtp:Username"] = postfix.User,
            ["Smtp:Password"] = postfix.Password,
            ["Bounces:Enabled"] = "true",
            ["Bounces:ReturnPath"] = "bounces+{token}@domain.local",
            ["Bounces:TokenSecret"] = "a-secret-of-at-least-thirty-two-bytes!",
        });

        var (client, id) = await SendAsync(factory, Bodies.Valid("student@domain.local", "alice@hard.test"));
        var message = await MailApiFactory.WaitForStatusAsync(client, id, Patience, AfterAnAttempt);

        Assert.Equal("sent", (string?)message["status"]); // both accepted in the dialogue
        var returnPath = Transcript(message).Select(e => (string?)e!["command"]).Single(c => c?.StartsWith("MAIL FROM:", StringComparison.Ordinal) == true)!
            .Split('<', '>')[1];
        string? dsn = null;
        await Poll.UntilAsync(() => (dsn = Dsn(postfix.BounceMaildir, id)) is not null, Patience, $"Postfix's DSN for {id} in {postfix.BounceMaildir}");
        Assert.NotNull(dsn);
        Assert.Contains($"\nDelivered-To: {returnPath}\n", dsn);
        Assert.Contains($"\nX-Postfix-Queue-ID: {message["queueId"]}\n", dsn);
        Assert.Contains("\nFinal-Recipient: rfc822; alice@hard.test\n", dsn);
        Assert.Contains("\nAction: failed\nStatus: 5.1.1\nRemote-MTA: dns; 127.0.0.1\nDiagnostic-Code: smtp; 550 5.1.1 <alice@hard.test>:", dsn);
        Assert.DoesNotContain("student@domain.local", dsn[dsn.IndexOf("message/delivery-status", StringComparison.Ordinal)..].Split("text/rfc822-headers")[0]);
    }

    /// <summary>The DSN in <paramref name="maildir"/> whose Original-Envelope-Id is <paramref name="envelopeId"/>, if it came.</summary>
    private static string? Dsn(string maildir, string envelopeId) =>
        new[] { "new", "cur" }.Select(sub => Path.Combine(maildir, sub)).Where(Directory.Exists)
            .SelectMany(Directory.EnumerateFiles).Select(File.ReadAllText)
            .FirstOrDefault(text => text.Contains($"\nOriginal-Envelope-Id: {envelopeId}\n", StringComparison.Ordinal));
}
