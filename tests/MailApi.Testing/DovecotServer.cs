using System.Net.Sockets;
using System.Text;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;
using MimeKit;

namespace MailApi.Testing;

/// <summary>
/// The real Dovecot IMAP server that <c>tests/relays/dovecot.sh start</c> runs on 127.0.0.1 (see that script), found
/// through the <c>dovecot.env</c> file it writes in <c>$MAILAPI_DOVECOT_DIR</c> (default <c>/tmp/mailapi-dovecot</c>).
/// <see cref="Require"/> skips the calling test, saying how to start it, when it is not running. Tests that run at once
/// share its one user, so each reads a folder of its own (<see cref="NewFolderAsync"/>).
/// </summary>
public sealed class DovecotServer
{
    public const string Category = "Imap";

    private const string HowToStart =
        "run `sudo bash tests/relays/dovecot.sh start` (as root; it installs Debian's dovecot-imapd with apt-get when missing). .ci/run starts it itself.";

    private static readonly Lazy<(DovecotServer? Server, string Why)> Found = new(Find);

    private DovecotServer(IReadOnlyDictionary<string, string> env)
    {
        Host = env["DOVECOT_HOST"];
        Port = int.Parse(env["DOVECOT_PORT"]);
        User = env["DOVECOT_USER"];
        Password = env["DOVECOT_PASSWORD"];
        Maildir = env["DOVECOT_MAILDIR"];
    }

    public string Host { get; }

    /// <summary>Plain IMAP (no TLS; loopback only), LOGIN and AUTH PLAIN.</summary>
    public int Port { get; }

    public string User { get; }

    public string Password { get; }

    /// <summary>The user's Maildir (Maildir++: folder <c>a/b</c> is the directory <c>.a.b</c>).</summary>
    public string Maildir { get; }

    /// <summary>The running Dovecot, or a skip (with how to start it) when there is none.</summary>
    public static DovecotServer Require()
    {
        var (server, why) = Found.Value;
        if (server is null)
        {
            Assert.Skip($"No Dovecot test server: {why}; {HowToStart}");
        }
        return server;
    }

    /// <summary>The <c>Bounces:Imap</c> settings that read <paramref name="folder"/>, its Processed and Unmatched folders inside it.</summary>
    public Dictionary<string, string?> ReaderSettings(string folder) => new()
    {
        ["Bounces:Imap:Host"] = Host,
        ["Bounces:Imap:Port"] = Port.ToString(),
        ["Bounces:Imap:Security"] = "None",
        ["Bounces:Imap:Username"] = User,
        ["Bounces:Imap:Password"] = Password,
        ["Bounces:Imap:Folder"] = folder,
        ["Bounces:Imap:ProcessedFolder"] = folder + "/Processed",
        ["Bounces:Imap:UnmatchedFolder"] = folder + "/Unmatched",
    };

    /// <summary>A logged-in client.</summary>
    public async Task<ImapClient> ConnectAsync()
    {
        var client = new ImapClient();
        await client.ConnectAsync(Host, Port, SecureSocketOptions.None);
        await client.AuthenticateAsync(User, Password);
        return client;
    }

    /// <summary>A new, empty folder of the caller's own (<c>t-</c> and 12 hex digits).</summary>
    public async Task<string> NewFolderAsync()
    {
        var name = "t-" + Guid.NewGuid().ToString("N")[..12];
        using var client = await ConnectAsync();
        await client.GetFolder(client.PersonalNamespaces[0]).CreateAsync(name, isMessageFolder: true);
        await client.DisconnectAsync(true);
        return name;
    }

    /// <summary>Appends each mail (as MimeKit reads it) to <paramref name="folder"/>, in order; their UIDs.</summary>
    public async Task<IReadOnlyList<UniqueId>> AppendAsync(string folder, params string[] mails)
    {
        using var client = await ConnectAsync();
        var target = await client.GetFolderAsync(folder);
        var uids = new List<UniqueId>();
        foreach (var mail in mails)
        {
            using var stream = new MemoryStream(Encoding.UTF8.GetBytes(mail));
            uids.Add(await target.AppendAsync(new AppendRequest(await MimeMessage.LoadAsync(stream))) ?? UniqueId.Invalid);
        }
        await client.DisconnectAsync(true);
        return uids;
    }

    /// <summary>The UIDs of the mail in each of <paramref name="folders"/> now (a folder that does not exist has none).</summary>
    public async Task<IReadOnlyList<IReadOnlyList<UniqueId>>> UidsAsync(params string[] folders)
    {
        using var client = await ConnectAsync();
        var found = new List<IReadOnlyList<UniqueId>>();
        foreach (var name in folders)
        {
            try
            {
                var folder = await client.GetFolderAsync(name);
                await folder.OpenAsync(FolderAccess.ReadOnly);
                found.Add([.. await folder.SearchAsync(MailKit.Search.SearchQuery.All)]);
                await folder.CloseAsync();
            }
            catch (FolderNotFoundException)
            {
                found.Add([]);
            }
        }
        await client.DisconnectAsync(true);
        return found;
    }

    /// <summary>The number of mails in each of <paramref name="folders"/> now.</summary>
    public async Task<int[]> CountsAsync(params string[] folders) => [.. (await UidsAsync(folders)).Select(u => u.Count)];

    /// <summary>The directory of <paramref name="folder"/> in the Maildir.</summary>
    public string FolderPath(string folder) => Path.Combine(Maildir, "." + folder.Replace('/', '.'));

    /// <summary>
    /// Takes the write permission of <paramref name="folder"/>'s directories away until the answer is disposed: Dovecot's mail
    /// processes run as the Maildir's owner, so a COPY or MOVE into it fails with <c>NO [SERVERBUG]</c>, a real server fault.
    /// The folder must exist (its <c>tmp</c> is made with it); the caller runs as root, as the tests do.
    /// </summary>
    public IDisposable RefuseWrites(string folder)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("Dovecot's Maildir permissions are Unix file modes.");
        }
        var directories = new[] { "", "cur", "new", "tmp" }.Select(sub => Path.Combine(FolderPath(folder), sub)).ToList();
        var modes = new List<UnixFileMode>();
        foreach (var directory in directories)
        {
            modes.Add(File.GetUnixFileMode(directory));
            File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        }
        return new Restore(directories, modes);
    }

    private sealed class Restore(List<string> directories, List<UnixFileMode> modes) : IDisposable
    {
        public void Dispose()
        {
            for (var i = 0; i < directories.Count && !OperatingSystem.IsWindows(); i++)
            {
                File.SetUnixFileMode(directories[i], modes[i]);
            }
        }
    }

    /// <summary>The Dovecot <c>tests/relays/dovecot.sh start</c> configured in <paramref name="dir"/>, as its dovecot.env describes it.</summary>
    /// <exception cref="InvalidOperationException">There is no such file, or it lacks what a server has.</exception>
    public static DovecotServer At(string dir) => EnvFile.Read(Path.Combine(dir, "dovecot.env"), env => new DovecotServer(env));

    private static (DovecotServer?, string) Find()
    {
        var (server, why) = EnvFile.Find("MAILAPI_DOVECOT_DIR", "/tmp/mailapi-dovecot", At);
        if (server is null)
        {
            return (null, why);
        }
        return Greets(server.Host, server.Port) ? (server, "") : (null, $"no IMAP server greets on {server.Host}:{server.Port}");
    }

    /// <summary>Whether an IMAP server greets on the port (MailKit reads the greeting as it connects).</summary>
    private static bool Greets(string host, int port)
    {
        try
        {
            using var client = new ImapClient { Timeout = 5000 };
            client.Connect(host, port, SecureSocketOptions.None);
            client.Disconnect(true);
            return true;
        }
        catch (Exception e) when (e is SocketException or IOException or ImapProtocolException)
        {
            return false;
        }
    }
}
