using System.Text;

namespace Gateway.Core.Safety;

/// <summary>What a scan decided about one piece of text: the findings kept (no overlaps) and the strongest action.</summary>
public sealed record ScanResult(IReadOnlyList<Finding> Findings, SafetyAction Action)
{
    public static ScanResult Clean { get; } = new([], SafetyAction.Off);
}

/// <summary>
/// Runs a policy's local detectors over text and applies redaction. Overlapping findings keep the earliest, then the
/// longest (a key inside a generic <c>token=…</c> is reported once, as what it is).
/// </summary>
public static class SafetyScanner
{
    public static ScanResult Scan(string text, SafetyPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (string.IsNullOrEmpty(text)) return ScanResult.Clean;
        var found = new List<Finding>();
        foreach (var (name, action) in policy.Actions)
        {
            if (action == SafetyAction.Off || policy.Detector(name) is not { } detector) continue;
            detector.Find(text, found);
        }

        if (found.Count == 0) return ScanResult.Clean;
        found.Sort(static (a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : b.Length.CompareTo(a.Length));
        var kept = new List<Finding>(found.Count);
        var end = -1;
        var strongest = SafetyAction.Off;
        foreach (var f in found)
        {
            if (f.Start < end) continue;
            kept.Add(f);
            end = f.Start + f.Length;
            var action = policy.Actions[f.Detector];
            if (action > strongest) strongest = action;
        }

        return new ScanResult(kept, strongest);
    }

    /// <summary>
    /// Replaces each finding whose action is redact with a typed placeholder (<c>&lt;EMAIL_1&gt;</c>, <c>&lt;CARD_2&gt;</c>):
    /// the same value gets the same placeholder throughout a request (<paramref name="placeholders"/>, value → placeholder).
    /// </summary>
    public static string Redact(string text, ScanResult scan, SafetyPolicy policy, Dictionary<string, string> placeholders)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(scan);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(placeholders);
        var output = new StringBuilder(text.Length);
        var at = 0;
        foreach (var f in scan.Findings)
        {
            if (policy.Actions[f.Detector] != SafetyAction.Redact) continue;
            output.Append(text, at, f.Start - at);
            output.Append(Placeholder(text.Substring(f.Start, f.Length), f.Detector, placeholders));
            at = f.Start + f.Length;
        }

        output.Append(text, at, text.Length - at);
        return output.ToString();
    }

    /// <summary>The typed placeholder of <paramref name="value"/> found by <paramref name="detector"/>: the one it already has in this request, else the next of its kind.</summary>
    public static string Placeholder(string value, string detector, Dictionary<string, string> placeholders)
    {
        ArgumentNullException.ThrowIfNull(detector);
        ArgumentNullException.ThrowIfNull(placeholders);
        if (placeholders.TryGetValue(value, out var placeholder)) return placeholder;
        var kind = detector.Replace("secret.", "SECRET_", StringComparison.Ordinal).Replace('-', '_').Replace('.', '_').ToUpperInvariant();
        var n = placeholders.Values.Count(p => p.StartsWith("<" + kind + "_", StringComparison.Ordinal)) + 1;
        placeholder = $"<{kind}_{n}>";
        placeholders[value] = placeholder;
        return placeholder;
    }
}
