namespace MailApi.Testing;

/// <summary>
/// A Dovecot of one test's own that serves a Maildir another program fills, such as a <see cref="PrivatePostfix"/>'s
/// bounces Maildir: <c>tests/relays/dovecot.sh start --maildir PATH</c> on a free port, in a folder of its own. The shared
/// Dovecot keeps its own Maildir, which the other tests' folders live in. Skips the test, saying how to get what is
/// missing, without Dovecot or without root. Stopped and its folder removed on dispose; the Maildir stays its owner's.
/// </summary>
public sealed class PrivateDovecot : IAsyncDisposable
{
    private const string HowToGet =
        "Dovecot is not installed: `sudo bash tests/relays/dovecot.sh start` installs Debian's dovecot-imapd with apt-get (.ci/run does).";

    private readonly string _script;
    private readonly string _dir;

    private PrivateDovecot(string script, string dir, DovecotServer server) => (_script, _dir, Server) = (script, dir, server);

    /// <summary>What the script says of it: port, user, password, the Maildir it serves as the user's INBOX.</summary>
    public DovecotServer Server { get; }

    /// <summary>A new Dovecot, running, serving <paramref name="maildir"/>; <paramref name="repositoryRoot"/> holds tests/relays/dovecot.sh.</summary>
    public static async Task<PrivateDovecot> StartAsync(string repositoryRoot, string maildir)
    {
        if (!File.Exists("/usr/sbin/dovecot") || !File.Exists("/usr/lib/dovecot/imap"))
        {
            Assert.Skip(HowToGet);
        }
        if (Environment.UserName != "root")
        {
            Assert.Skip("A Dovecot of the test's own needs root (it reads mail as the Maildir's owner): run the tests as root, as .ci/run does.");
        }
        var script = Path.Combine(repositoryRoot, "tests", "relays", "dovecot.sh");
        var dir = Directory.CreateTempSubdirectory("mailapi-dovecot-").FullName;
        for (var tries = 1; ; tries++)
        {
            // A port free a moment ago may be taken by the time Dovecot binds it; then the start fails and another is tried.
            var (code, output) = await PrivatePostfix.BashAsync($"bash '{script}' start --maildir '{maildir}' {FreePort.Get()} '{dir}'");
            if (code == 0)
            {
                return new PrivateDovecot(script, dir, DovecotServer.At(dir));
            }
            if (tries == 3)
            {
                Directory.Delete(dir, recursive: true);
                throw new InvalidOperationException($"dovecot.sh start failed ({code}):\n{output}");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await PrivatePostfix.BashAsync($"bash '{_script}' stop '{_dir}'");
        Directory.Delete(_dir, recursive: true);
    }
}
