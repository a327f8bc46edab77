using System.Text.RegularExpressions;
using MailApi.Tests.Infrastructure;

namespace MailApi.Tests.Bounces;

/// <summary>
/// The Postfix pipe example of docs/bounces.md, read from the page (the code block after each
/// <c>&lt;!-- postfix-pipe: NAME --&gt;</c> marker) and applied to a Postfix as its reader would: the script and the key
/// file written, the master.cf lines added, the main.cf lines set with postconf, the transport line added and postmapped.
/// Only what a reader replaces is replaced (the URL, the key, mail.example.com, and /etc/postfix and /usr/local/bin by
/// the instance's own folder), so the page cannot say anything the tests do not do.
/// </summary>
public static partial class PostfixPipeExample
{
    private const string Script = "mailapi-bounce";
    private const string KeyFile = "mailapi-bounces.header";
    private const string KeyPlaceholder = "BOUNCE-KEY";

    /// <summary>The page's blocks by marker name, each with its list indentation taken off.</summary>
    public static IReadOnlyDictionary<string, string> Blocks()
    {
        var page = File.ReadAllText(Path.Combine(Chromium.RepositoryRoot(), "docs", "bounces.md"));
        return Marked().Matches(page).ToDictionary(
            m => m.Groups["name"].Value,
            m => string.Join('\n', m.Groups["body"].Value.Split('\n').Select(line => line.StartsWith(m.Groups["indent"].Value, StringComparison.Ordinal)
                ? line[m.Groups["indent"].Value.Length..] : line.TrimStart())));
    }

    /// <summary>
    /// Configures <paramref name="postfix"/> to pipe mail for bounces@<paramref name="domain"/> (and bounces+…) to the
    /// service at <paramref name="serviceUrl"/> with <paramref name="key"/>, then restarts it.
    /// </summary>
    public static async Task ApplyAsync(PrivatePostfix postfix, string serviceUrl, string key, string domain)
    {
        if (!File.Exists("/usr/bin/curl"))
        {
            Assert.Skip("The example's script runs /usr/bin/curl, which is not installed: `apt-get install curl`.");
        }
        var blocks = Filled(postfix, serviceUrl.TrimEnd('/'), key, domain);
        var etc = postfix.ConfigDir;
        var script = Path.Combine(etc, Script);
        await File.WriteAllTextAsync(script, blocks[Script] + "\n");
        await postfix.RunAsync($"chmod 755 '{script}'");
        await WriteKeyFileAsync(postfix, blocks[KeyFile]);
        await File.AppendAllTextAsync(Path.Combine(etc, "master.cf"), blocks["master.cf"] + "\n");
        foreach (var setting in blocks["main.cf"].Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            Assert.DoesNotContain('\'', setting);
            await postfix.RunAsync($"postconf -c '{etc}' -e '{setting}'");
        }
        // The relay's own transport table (its test domains) gets the page's line, and becomes the hash: map main.cf names.
        await File.AppendAllTextAsync(Path.Combine(etc, "transport"), blocks["transport"] + "\n");
        await postfix.RunAsync($"postmap '{etc}/transport'");
        await postfix.RestartAsync();
    }

    /// <summary>Writes the key file of the page with another key (each run of the script reads it again).</summary>
    public static Task SetKeyAsync(PrivatePostfix postfix, string key) =>
        WriteKeyFileAsync(postfix, Blocks()[KeyFile].Replace(KeyPlaceholder, key, StringComparison.Ordinal));

    /// <summary>As the page says: owned by root, readable by the pipe's group alone.</summary>
    private static async Task WriteKeyFileAsync(PrivatePostfix postfix, string content)
    {
        var file = Path.Combine(postfix.ConfigDir, KeyFile);
        await File.WriteAllTextAsync(file, content + "\n");
        await postfix.RunAsync($"chown root:nogroup '{file}' && chmod 640 '{file}'");
    }

    private static Dictionary<string, string> Filled(PrivatePostfix postfix, string serviceUrl, string key, string domain)
    {
        var blocks = Blocks();
        Assert.Equal([Script, KeyFile, "main.cf", "master.cf", "transport"], blocks.Keys.Order(StringComparer.Ordinal));
        var placeholders = new Dictionary<string, string>
        {
            [$"/usr/local/bin/{Script}"] = Path.Combine(postfix.ConfigDir, Script),
            ["/etc/postfix/"] = postfix.ConfigDir + "/",
            ["http://127.0.0.1:8080"] = serviceUrl,
            [KeyPlaceholder] = key,
            ["mail.example.com"] = domain,
        };
        foreach (var placeholder in placeholders.Keys)
        {
            // A placeholder the page no longer uses would leave its own value in place, untested: say so instead.
            Assert.True(blocks.Values.Any(b => b.Contains(placeholder, StringComparison.Ordinal)), $"docs/bounces.md's Postfix example no longer contains {placeholder}.");
        }
        return blocks.ToDictionary(b => b.Key, b => placeholders.Aggregate(b.Value, (text, p) => text.Replace(p.Key, p.Value, StringComparison.Ordinal)));
    }

    [GeneratedRegex(@"<!-- postfix-pipe: (?<name>\S+) -->\n+(?<indent>[ ]*)```[a-z]*\n(?<body>.*?)\n\k<indent>```", RegexOptions.Singleline)]
    private static partial Regex Marked();
}
