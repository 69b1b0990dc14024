using System.Globalization;
using Gateway.Core.Safety;
using Xunit.Abstractions;

namespace Gateway.Core.Tests.Safety;

/// <summary>Recall and false positives of every local detector over the labelled corpus; the table is printed and in the README.</summary>
public sealed class DetectorEffectivenessTests(ITestOutputHelper output)
{
    private static readonly SafetyPolicy Everything = SafetyPolicy.Templates["strict"];

    [Fact]
    public void Every_detector_finds_at_least_99_percent_of_its_positives_with_under_1_percent_false_positives()
    {
        var positives = DetectorCorpus.Positives();
        var negatives = DetectorCorpus.Negatives();
        Assert.True(positives.Count >= 1000, $"{positives.Count} positives");
        Assert.True(negatives.Count >= 1000, $"{negatives.Count} negatives");

        var rows = new List<(string Detector, int Positives, int Found, int FalsePositives)>();
        var missed = new List<string>();
        var falseAlarms = new List<string>();
        foreach (var name in Detectors.All.Keys.Order(StringComparer.Ordinal))
        {
            var mine = positives.Where(p => p.Detector == name).ToList();
            var found = 0;
            foreach (var p in mine)
            {
                var scan = SafetyScanner.Scan(p.Text, Everything);
                var at = p.Text.IndexOf(p.Value!, StringComparison.Ordinal);
                if (scan.Findings.Any(f => f.Detector == name && f.Start < at + p.Value!.Length && at < f.Start + f.Length)) found++;
                else if (missed.Count < 10) missed.Add($"{name}: {p.Text}");
            }

            var fp = 0;
            foreach (var n in negatives)
            {
                var hits = SafetyScanner.Scan(n.Text, Everything).Findings.Where(f => f.Detector == name).ToList();
                if (hits.Count == 0) continue;
                fp++;
                if (falseAlarms.Count < 10) falseAlarms.Add($"{name}: {n.Text}");
            }

            rows.Add((name, mine.Count, found, fp));
        }

        output.WriteLine($"| detector | positives | recall | false positives (of {negatives.Count} hard negatives) |");
        output.WriteLine("|---|---:|---:|---:|");
        foreach (var (name, count, found, fp) in rows)
            output.WriteLine($"| {name} | {count} | {Percent(found, count)} | {Percent(fp, negatives.Count)} |");
        var anyFp = negatives.Count(n => SafetyScanner.Scan(n.Text, Everything).Findings.Count > 0);
        output.WriteLine($"| **all** | {positives.Count} | {Percent(rows.Sum(r => r.Found), positives.Count)} | {Percent(anyFp, negatives.Count)} |");
        foreach (var m in missed) output.WriteLine("missed " + m);
        foreach (var f in falseAlarms) output.WriteLine("false alarm " + f);

        Assert.All(rows, r => Assert.True(r.Found >= r.Positives * 0.99, $"{r.Detector}: recall {Percent(r.Found, r.Positives)}"));
        Assert.All(rows, r => Assert.True(r.FalsePositives < negatives.Count * 0.01, $"{r.Detector}: {r.FalsePositives} false positives"));
        Assert.True(anyFp < negatives.Count * 0.01, $"{anyFp} negatives flagged by some detector");
    }

    private static string Percent(int part, int whole) => (100.0 * part / Math.Max(1, whole)).ToString("0.0", CultureInfo.InvariantCulture) + " %";
}
