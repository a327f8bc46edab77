using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace MailApi.Tests.Telemetry;

/// <summary>One scrape of <c>/metrics</c>, read as the Prometheus text format: one sample per line, <c>name{labels} value</c>.</summary>
public sealed partial class Scrape
{
    private Scrape(string text, IReadOnlyList<Sample> samples) => (Text, Samples) = (text, samples);

    /// <summary>The answer's body as it came.</summary>
    public string Text { get; }

    public IReadOnlyList<Sample> Samples { get; }

    /// <summary>GET /metrics with no API key; fails unless it answers 200 in the Prometheus text format.</summary>
    public static async Task<Scrape> TakeAsync(HttpClient client)
    {
        var response = await client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        var samples = new List<Sample>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            var match = SampleLine().Match(line);
            Assert.True(match.Success, $"Not a Prometheus sample line: {line}");
            var labels = LabelPair().Matches(match.Groups["labels"].Value).ToDictionary(m => m.Groups["key"].Value, m => m.Groups["value"].Value);
            samples.Add(new Sample(match.Groups["name"].Value, labels, double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture)));
        }
        return new Scrape(text, samples);
    }

    /// <summary>The sum of the samples named <paramref name="name"/> whose labels include every one of <paramref name="labels"/>.</summary>
    public double Value(string name, params (string Key, string Value)[] labels) =>
        Samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).Sum(s => s.Value);

    /// <summary>The TYPE line of a family, e.g. <c>counter</c>.</summary>
    public string? TypeOf(string family) =>
        Text.Split('\n').FirstOrDefault(l => l.StartsWith($"# TYPE {family} ", StringComparison.Ordinal))?.Split(' ')[3];

    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>\S+)( \d+)?$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"(?<key>[a-zA-Z_][a-zA-Z0-9_]*)=""(?<value>(\\.|[^""\\])*)""")]
    private static partial Regex LabelPair();
}
