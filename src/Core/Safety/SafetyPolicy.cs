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

/// <summary>A named set of detectors and their actions (section <c>Gateway:Safety</c>: <c>Policy</c> names a template).</summary>
public sealed record SafetyPolicy(string Name, IReadOnlyDictionary<string, SafetyAction> Actions)
{
    /// <summary>The template library: <c>log-only</c>, <c>baseline</c>, <c>pii-redact</c>, <c>secrets-block</c>, <c>strict</c>.</summary>
    public static IReadOnlyDictionary<string, SafetyPolicy> Templates { get; } = new Dictionary<string, SafetyPolicy>(StringComparer.Ordinal)
    {
        ["log-only"] = Of("log-only", Detectors.All.Keys, SafetyAction.Flag),
        ["baseline"] = Of("baseline", Detectors.Pii, SafetyAction.Flag, Detectors.Secrets, SafetyAction.Block),
        ["pii-redact"] = Of("pii-redact", Detectors.Pii, SafetyAction.Redact, Detectors.Secrets, SafetyAction.Block),
        ["secrets-block"] = Of("secrets-block", Detectors.Secrets, SafetyAction.Block),
        ["strict"] = Of("strict", Detectors.All.Keys, SafetyAction.Block),
    };

    private static SafetyPolicy Of(string name, IEnumerable<string> detectors, SafetyAction action, IEnumerable<string>? more = null, SafetyAction moreAction = SafetyAction.Off)
    {
        var actions = detectors.ToDictionary(d => d, _ => action, StringComparer.Ordinal);
        foreach (var d in more ?? []) actions[d] = moreAction;
        return new SafetyPolicy(name, actions);
    }

    /// <summary>The template named <paramref name="name"/>, or null (with every name known in the message) when unknown.</summary>
    public static SafetyPolicy? Template(string? name, out string? problem)
    {
        problem = null;
        if (string.IsNullOrWhiteSpace(name)) return null;
        if (Templates.TryGetValue(name.Trim(), out var policy)) return policy;
        problem = $"Gateway:Safety:Policy '{name}' is not a known policy; use one of {string.Join(", ", Templates.Keys)}.";
        return null;
    }
}
