namespace Gateway.Core.Safety;

/// <summary>What a policy does with a detector's findings.</summary>
public enum SafetyAction
{
    /// <summary>Nothing: the detector does not run.</summary>
    Off,
    /// <summary>Recorded (usage record, header), the text passes unchanged.</summary>
    Flag,
    /// <summary>Replaced by a typed placeholder such as <c>&lt;EMAIL_1&gt;</c> before it reaches the model (or the client).</summary>
    Redact,
    /// <summary>The request (or the answer) is refused: 400 <c>content_filter</c> naming the detector, never the text.</summary>
    Block,
}

/// <summary>
/// A named set of detectors and their actions (section <c>Gateway:Safety</c>: <c>Policy</c> names a template or holds a
/// policy document), with the policy's own custom detectors (keyword lists and regular expressions).
/// </summary>
public sealed record SafetyPolicy(string Name, IReadOnlyDictionary<string, SafetyAction> Actions)
{
    /// <summary>Rules a lower level (team, key) may tighten but never loosen.</summary>
    public IReadOnlySet<string> Locked { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>What Azure AI Content Safety checks on the input (null: not used).</summary>
    public ContentSafetyRule? ContentSafety { get; init; }

    /// <summary>
    /// Put the values the request's redaction replaced back into the answer (<c>&lt;EMAIL_1&gt;</c> → the user's own
    /// address), so the user sees their data while the model never did; only placeholders made from the request are
    /// restored, never those made from the answer. Null: as the level below says (off by default).
    /// </summary>
    public bool? Restore { get; init; }

    /// <summary>The models this policy applies to; null for every model.</summary>
    public IReadOnlySet<string>? Models { get; init; }

    /// <summary>The policy's own detectors by name (custom rules), besides the built-in <see cref="Detectors.All"/>.</summary>
    public IReadOnlyDictionary<string, IDetector> Custom { get; init; } = new Dictionary<string, IDetector>(StringComparer.Ordinal);

    /// <summary>The detector a rule names: a custom one of this policy, else a built-in one.</summary>
    public IDetector? Detector(string name) => Custom.TryGetValue(name, out var own) ? own : Detectors.All.GetValueOrDefault(name);

    /// <summary>The template library: <c>log-only</c>, <c>baseline</c>, <c>pii-redact</c>, <c>secrets-block</c>, <c>strict</c>.</summary>
    public static IReadOnlyDictionary<string, SafetyPolicy> Templates { get; } = new Dictionary<string, SafetyPolicy>(StringComparer.Ordinal)
    {
        ["log-only"] = Of("log-only", Detectors.All.Keys, SafetyAction.Flag),
        ["baseline"] = Of("baseline", [.. Detectors.Pii, "injection"], SafetyAction.Flag, Detectors.Secrets, SafetyAction.Block),
        ["pii-redact"] = Of("pii-redact", Detectors.Pii, SafetyAction.Redact, Detectors.Secrets, SafetyAction.Block, ["injection"], SafetyAction.Flag),
        ["secrets-block"] = Of("secrets-block", Detectors.Secrets, SafetyAction.Block),
        ["strict"] = Of("strict", Detectors.All.Keys, SafetyAction.Block),
    };

    private static SafetyPolicy Of(string name, IEnumerable<string> detectors, SafetyAction action, IEnumerable<string>? more = null, SafetyAction moreAction = SafetyAction.Off,
        IEnumerable<string>? rest = null, SafetyAction restAction = SafetyAction.Off)
    {
        var actions = detectors.ToDictionary(d => d, _ => action, StringComparer.Ordinal);
        foreach (var d in more ?? []) actions[d] = moreAction;
        foreach (var d in rest ?? []) actions[d] = restAction;
        return new SafetyPolicy(name, actions);
    }

    /// <summary>
    /// The policy a setting names: a template name, or a policy document (JSON, see <see cref="SafetyPolicyDocument"/>);
    /// null when unset. <paramref name="problems"/> lists every problem when it is neither.
    /// </summary>
    public static SafetyPolicy? FromSetting(string? setting, out IReadOnlyList<string> problems)
    {
        problems = [];
        if (string.IsNullOrWhiteSpace(setting)) return null;
        var value = setting.Trim();
        if (value.StartsWith('{'))
        {
            var policy = SafetyPolicyDocument.Parse(value, out problems);
            return problems.Count == 0 ? policy : null;
        }

        if (Templates.TryGetValue(value, out var template)) return template;
        problems = [$"'{value}' is not a known policy; use one of {string.Join(", ", Templates.Keys)}, or a policy document (JSON)."];
        return null;
    }
}

/// <summary>
/// A policy's use of Azure AI Content Safety: block at or above a severity per category (0, 2, 4 or 6), block prompt
/// attacks (user prompts) and indirect attacks (tool results) when <see cref="PromptShield"/>, block blocklist hits,
/// and what to do when the service cannot answer in time (<see cref="FailClosed"/>: refuse with 503; else let through, flagged).
/// </summary>
public sealed record ContentSafetyRule(IReadOnlyDictionary<string, int> BlockAt, bool PromptShield, IReadOnlyList<string> Blocklists, bool FailClosed)
{
    /// <summary>Check the input while the model is called, holding the answer until the check passes (hides the check's latency).</summary>
    public bool Parallel { get; init; }

    /// <summary>Analyse answers too (the same thresholds and blocklists); an answer at or above a threshold is withheld.</summary>
    public bool Output { get; init; }

    /// <summary>Check answers for protected material (known text such as lyrics, articles, recipes); a match is withheld.</summary>
    public bool ProtectedMaterial { get; init; }

    /// <summary>True when requests go to the service.</summary>
    public bool ChecksInput => BlockAt.Count > 0 || PromptShield || Blocklists.Count > 0;

    /// <summary>True when answers go to the service.</summary>
    public bool ChecksOutput => Output || ProtectedMaterial;
}
