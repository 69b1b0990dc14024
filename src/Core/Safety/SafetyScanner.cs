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
            Find(name, detector, text, found);
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
    /// One detector's findings. A pattern that runs past its time limit (a thread starved of CPU on a busy instance, or text
    /// built to make a custom rule backtrack) is tried once more; a second time out fails closed: the whole text counts as
    /// found by that detector, so its rule's action (block, redact, flag) applies rather than the text passing unscanned or
    /// the request failing with a 500.
    /// </summary>
    private static void Find(string name, IDetector detector, string text, List<Finding> found)
    {
        var before = found.Count;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                detector.Find(text, found);
                return;
            }
            catch (System.Text.RegularExpressions.RegexMatchTimeoutException)
            {
                found.RemoveRange(before, found.Count - before);
                if (attempt == 2)
                {
                    found.Add(new Finding(name, 0, text.Length));
                    return;
                }
            }
        }
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
