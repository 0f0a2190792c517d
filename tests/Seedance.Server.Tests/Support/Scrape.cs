using System.Globalization;
using System.Text.RegularExpressions;

namespace Seedance.Server.Tests.Support;

/// <summary>
/// A Prometheus text exposition, read as a test reads it: each sample by its name and exact labels (the exporter's own
/// <c>otel_scope_*</c> labels aside).
/// </summary>
public sealed partial class Scrape(string text)
{
    public string Text { get; } = text;

    private readonly List<(string Name, Dictionary<string, string> Labels, double Value)> _samples = text.Split('\n')
        .Select(line => SampleLine().Match(line)).Where(m => m.Success)
        .Select(m => (m.Groups["name"].Value,
            LabelPair().Matches(m.Groups["labels"].Value).Where(l => !l.Groups[1].Value.StartsWith("otel_scope_", StringComparison.Ordinal))
                .ToDictionary(l => l.Groups[1].Value, l => Regex.Unescape(l.Groups[2].Value)),
            double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture)))
        .ToList();

    /// <summary>The value of the one sample with this name and exactly these labels; null when there is none.</summary>
    public double? Value(string name, params (string Label, string Value)[] labels)
    {
        var matching = _samples.Where(s => s.Name == name && s.Labels.Count == labels.Length && labels.All(l => s.Labels.GetValueOrDefault(l.Label) == l.Value)).ToList();
        Assert.True(matching.Count <= 1, $"{matching.Count} samples of {name} with those labels");
        return matching.Count == 0 ? null : matching[0].Value;
    }

    /// <summary>Every label set of the samples of <paramref name="name"/>.</summary>
    public IEnumerable<Dictionary<string, string>> Series(string name) => _samples.Where(s => s.Name == name).Select(s => s.Labels);

    public bool Has(string namePrefix) => _samples.Any(s => s.Name.StartsWith(namePrefix, StringComparison.Ordinal));

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();
}
