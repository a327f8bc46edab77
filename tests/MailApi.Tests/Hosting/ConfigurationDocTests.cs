using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using MailApi.Tests.Infrastructure;

namespace MailApi.Tests.Hosting;

/// <summary>
/// docs/configuration.md against the code, both ways: every key the service binds or reads has one row, and every row
/// names such a key. The options classes are found where src/ binds them (<c>AddOptions&lt;T&gt;()…Bind…</c>,
/// <c>GetSection(T.Section).Bind(…)</c>) and their keys are read by reflection, so a new option cannot go undocumented.
/// Also: every relative link in README.md, docs/ and bench/README.md points at a file (and heading) that exists.
/// </summary>
public sealed partial class ConfigurationDocTests
{
    private static readonly string Root = Chromium.RepositoryRoot();

    [Fact]
    public void The_scan_finds_the_options_classes_src_binds()
    {
        var bound = BoundOptions().Select(b => b.Prefix).ToList();
        Assert.True(bound.Count >= 12, $"Only {bound.Count} options classes found bound in src/: {string.Join(", ", bound)}.");
        var keys = OptionKeys().ToList();
        Assert.Contains("Smtp:Pool:IdleTimeout", keys);
        Assert.Contains("Relays:N:Senders", keys);
        Assert.Contains("Auth:ApiKeys:N:AllowedSenders", keys);
        Assert.Contains("DevRelay:ServerName", keys);
        Assert.DoesNotContain("Smtp:Key", keys);
    }

    [Fact]
    public void Every_bindable_property_of_an_options_class_has_a_row() => AssertEachHasARow(OptionKeys());

    [Fact]
    public void Every_key_src_reads_by_name_has_a_row() => AssertEachHasARow(KeysReadByName());

    [Fact]
    public void Every_key_of_the_root_appsettings_json_has_a_row() => AssertEachHasARow(AppSettingsKeys());

    [Fact]
    public void Every_row_names_a_key_the_service_reads_once()
    {
        var rows = TableKeys();
        var known = OptionKeys().Concat(KeysReadByName()).Concat(AppSettingsKeys()).ToHashSet();
        var unknown = rows.Where(key => !known.Contains(key)).ToList();
        Assert.True(unknown.Count == 0, $"docs/configuration.md has rows for keys nothing reads: {string.Join(", ", unknown)}.");
        var twice = rows.GroupBy(key => key).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(twice.Count == 0, $"docs/configuration.md has more than one row for: {string.Join(", ", twice)}.");
    }

    [Fact]
    public void Every_link_in_the_docs_points_at_a_file_and_heading_that_exist()
    {
        var pages = new[] { "README.md", Path.Combine("bench", "README.md") }
            .Concat(Directory.GetFiles(Path.Combine(Root, "docs"), "*.md").Select(f => Path.GetRelativePath(Root, f)));
        var broken = new List<string>();
        foreach (var page in pages)
        {
            var folder = Path.GetDirectoryName(Path.Combine(Root, page))!;
            foreach (var target in Links(File.ReadAllText(Path.Combine(Root, page))))
            {
                if (Regex.IsMatch(target, "^[a-z]+:", RegexOptions.IgnoreCase))
                {
                    continue;
                }
                var hash = target.IndexOf('#', StringComparison.Ordinal);
                var file = hash < 0 ? target : target[..hash];
                var anchor = hash < 0 ? null : target[(hash + 1)..];
                var path = file.Length == 0 ? Path.Combine(Root, page) : Path.GetFullPath(Path.Combine(folder, Uri.UnescapeDataString(file)));
                if (!path.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                {
                    broken.Add($"{page}: {target} (outside the repository)");
                }
                else if (!File.Exists(path) && !Directory.Exists(path))
                {
                    broken.Add($"{page}: {target} (no such file)");
                }
                else if (anchor is not null && path.EndsWith(".md", StringComparison.Ordinal) && !Anchors(File.ReadAllText(path)).Contains(anchor))
                {
                    broken.Add($"{page}: {target} (no such heading)");
                }
            }
        }
        Assert.True(broken.Count == 0, "Broken links:\n" + string.Join("\n", broken));
    }

    private static void AssertEachHasARow(IEnumerable<string> keys)
    {
        var rows = TableKeys().ToHashSet();
        var missing = keys.Where(key => !rows.Contains(key)).ToList();
        Assert.True(missing.Count == 0, $"docs/configuration.md has no row for: {string.Join(", ", missing)}.");
    }

    /// <summary>The key in the first cell of each row of the table in docs/configuration.md.</summary>
    private static List<string> TableKeys() =>
        File.ReadAllLines(Path.Combine(Root, "docs", "configuration.md"))
            .Select(line => TableKey().Match(line))
            .Where(match => match.Success)
            .Select(match => match.Groups[1].Value)
            .ToList();

    /// <summary>Every key the options classes bound in src/ can take, lists as <c>N</c>: <c>Relays:N:Host</c>.</summary>
    private static IEnumerable<string> OptionKeys() => BoundOptions().SelectMany(b => Keys(b.Type, b.Prefix)).Distinct();

    private static List<(Type Type, string Prefix)> BoundOptions()
    {
        var assembly = typeof(MailApi.Hosting.HostingExtensions).Assembly;
        Type TypeNamed(string name) => assembly.GetTypes().Single(t => t.Name == name);
        string SectionOf(Type type) =>
            (string)type.GetFields(BindingFlags.Public | BindingFlags.Static)
                .Single(f => f.IsLiteral && f.Name is "Section" or "SectionName").GetRawConstantValue()!;

        var found = new List<(Type, string)>();
        foreach (var source in SourceFiles())
        {
            foreach (Match match in BoundWithAddOptions().Matches(source))
            {
                var type = TypeNamed(match.Groups["type"].Value);
                if (match.Groups["property"].Success)
                {
                    // configuration.GetSection(T.Section).Bind(options.Property): the property's value sits at the section.
                    found.Add((type.GetProperty(match.Groups["property"].Value)!.PropertyType, SectionOf(type)));
                }
                else
                {
                    found.Add((type, SectionOf(type)));
                }
            }
        }
        return found.Distinct().ToList();
    }

    /// <summary>The keys a value of <paramref name="type"/> bound at <paramref name="prefix"/> takes.</summary>
    private static IEnumerable<string> Keys(Type type, string prefix)
    {
        if (IsScalar(type) || (ElementOf(type) is { } scalar && IsScalar(scalar)))
        {
            return [prefix];
        }
        if (ElementOf(type) is { } element)
        {
            return Keys(element, prefix + ":N");
        }
        return type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.SetMethod is { IsPublic: true } && p.GetIndexParameters().Length == 0)
            .SelectMany(p => Keys(p.PropertyType, $"{prefix}:{p.Name}"));
    }

    private static bool IsScalar(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
            || type == typeof(DateTimeOffset) || type == typeof(DateTime) || type == typeof(Uri) || type == typeof(Guid);
    }

    private static Type? ElementOf(Type type) =>
        type.IsArray ? type.GetElementType()
        : type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>) ? type.GetGenericArguments()[0]
        : null;

    /// <summary>Keys src/ reads by name rather than through an options class.</summary>
    private static IEnumerable<string> KeysReadByName() =>
        SourceFiles().SelectMany(source => KeyByName().Matches(source)).Select(match => match.Groups["key"].Value).Distinct();

    /// <summary>The leaves of the root appsettings.json; a list of values is one key, a list of objects <c>N</c>.</summary>
    private static List<string> AppSettingsKeys()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "appsettings.json")));
        var keys = new List<string>();
        void Walk(JsonElement element, string key)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        Walk(property.Value, key.Length == 0 ? property.Name : $"{key}:{property.Name}");
                    }
                    break;
                case JsonValueKind.Array when element.EnumerateArray().Any(e => e.ValueKind == JsonValueKind.Object):
                    foreach (var item in element.EnumerateArray())
                    {
                        Walk(item, key + ":N");
                    }
                    break;
                default:
                    keys.Add(key);
                    break;
            }
        }
        Walk(json.RootElement, "");
        return keys.Distinct().ToList();
    }

    private static IEnumerable<string> SourceFiles() =>
        Directory.GetFiles(Path.Combine(Root, "src", "MailApi"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(File.ReadAllText);

    /// <summary>Relative links of a markdown page, outside code.</summary>
    private static IEnumerable<string> Links(string markdown) =>
        MarkdownLink().Matches(InlineCode().Replace(OutsideCodeBlocks(markdown), ""))
            .Select(match => match.Groups[1].Value);

    /// <summary>GitHub's anchors for the headings of a page: lower case, punctuation dropped, spaces as hyphens.</summary>
    private static HashSet<string> Anchors(string markdown)
    {
        var anchors = new HashSet<string>();
        foreach (var line in OutsideCodeBlocks(markdown).Split('\n'))
        {
            var heading = Heading().Match(line);
            if (!heading.Success)
            {
                continue;
            }
            var slug = string.Concat(heading.Groups[1].Value.Trim().ToLowerInvariant()
                .Where(c => char.IsLetterOrDigit(c) || c is ' ' or '-' or '_')).Replace(' ', '-');
            var anchor = slug;
            for (var n = 1; !anchors.Add(anchor); n++)
            {
                anchor = $"{slug}-{n}";
            }
        }
        return anchors;
    }

    private static string OutsideCodeBlocks(string markdown) => FencedCode().Replace(markdown, "");

    [GeneratedRegex(@"^\|\s*`([^`]+)`\s*\|")]
    private static partial Regex TableKey();

    [GeneratedRegex(@"AddOptions<(?<type>\w+)>\(\)(?:(?!;).)*?(?:\.BindConfiguration\(|\.Bind\(|GetSection\(\k<type>\.\w+\)\.Bind\(\w+\.(?<property>\w+)\))", RegexOptions.Singleline)]
    private static partial Regex BoundWithAddOptions();

    [GeneratedRegex(@"(?:GetValue<[^>]+>\(\s*""(?<key>[^""]+)""|onfiguration\[\s*""(?<key>[^""]+)""\s*\]|const string \w*Key\s*=\s*""(?<key>[^""]+)"")")]
    private static partial Regex KeyByName();

    [GeneratedRegex(@"\]\(([^)\s]+)\)")]
    private static partial Regex MarkdownLink();

    [GeneratedRegex(@"`[^`\n]*`")]
    private static partial Regex InlineCode();

    [GeneratedRegex(@"^```.*?^```[^\n]*$", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex FencedCode();

    [GeneratedRegex(@"^#{1,6}\s+(.+?)\s*#*\s*$")]
    private static partial Regex Heading();
}
