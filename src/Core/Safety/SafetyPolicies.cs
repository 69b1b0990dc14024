using System.Collections.Concurrent;

namespace Gateway.Core.Safety;

/// <summary>
/// The policies in force by level — global (<c>Gateway:Safety:Policy</c>), then a team's
/// (<c>Gateway:Safety:Teams:&lt;team&gt;</c>), then a key's (<c>Gateway:Safety:Keys:&lt;key id&gt;</c>) — each a template or a
/// document, each optionally limited to some models. A request gets the global policy with its team's rules over it,
/// then its key's: a lower level may change any rule except a locked one, which it may tighten (flag → redact → block)
/// but never loosen. A configuration in which some level loosens a locked rule is refused at startup, every case listed.
/// </summary>
public sealed class SafetyPolicies
{
    private readonly SafetyPolicy? _global;
    private readonly IReadOnlyDictionary<string, SafetyPolicy> _teams;
    private readonly IReadOnlyDictionary<string, SafetyPolicy> _keys;
    private readonly ConcurrentDictionary<(string Team, string Key, string Model), SafetyPolicy?> _effective = new();

    private SafetyPolicies(SafetyPolicy? global, IReadOnlyDictionary<string, SafetyPolicy> teams, IReadOnlyDictionary<string, SafetyPolicy> keys)
    {
        _global = global;
        _teams = teams;
        _keys = keys;
    }

    /// <summary>The global policy (null when none).</summary>
    public SafetyPolicy? Global => _global;

    /// <summary>The teams' policies, each as configured (before composition).</summary>
    public IReadOnlyDictionary<string, SafetyPolicy> Teams => _teams;

    /// <summary>The keys' policies, each as configured (before composition).</summary>
    public IReadOnlyDictionary<string, SafetyPolicy> Keys => _keys;

    /// <summary>True when some policy uses Azure AI Content Safety.</summary>
    public bool UsesContentSafety => new[] { _global }.Concat(_teams.Values).Concat(_keys.Values).Any(p => p?.ContentSafety is not null);

    /// <summary>The policies of <paramref name="options"/>; throws, listing every problem, when they are invalid.</summary>
    public static SafetyPolicies Load(SafetyOptions options)
    {
        var policies = Create(options, out var problems);
        if (problems.Count > 0)
            throw new InvalidOperationException("The safety settings are invalid:" + Environment.NewLine + string.Join(Environment.NewLine, problems.Select(p => "  - " + p)));
        return policies;
    }

    /// <summary>
    /// The policies of <paramref name="options"/> and every problem with them. Problems name the setting
    /// (<c>Gateway:Safety:Teams:lab</c>), or with <paramref name="document"/> the place in an uploaded policy document
    /// (<c>teams.lab</c>).
    /// </summary>
    public static SafetyPolicies Create(SafetyOptions options, out IReadOnlyList<string> problems, bool document = false)
    {
        ArgumentNullException.ThrowIfNull(options);
        string Team(string name) => document ? $"teams.{name}" : $"Gateway:Safety:Teams:{name}";
        string Key(string name) => document ? $"keys.{name}" : $"Gateway:Safety:Keys:{name}";
        var errors = new List<string>();
        var global = SafetyPolicy.FromSetting(options.Policy, out var globalProblems);
        errors.AddRange(globalProblems.Select(p => $"{(document ? "policy" : "Gateway:Safety:Policy")}: {p}"));
        var teams = Level(options.Teams, Team, errors);
        var keys = Level(options.Keys, Key, errors);
        // every loosening of a locked rule among the levels that are valid themselves, whatever the models each is limited to
        foreach (var (team, policy) in teams) Compose(global, policy, Team(team), errors);
        foreach (var (key, policy) in keys)
        {
            Compose(global, policy, Key(key), errors);
            foreach (var (team, teamPolicy) in teams) Compose(Compose(global, teamPolicy, "", null), policy, $"{Key(key)} (under team '{team}')", errors);
        }

        var policies = new SafetyPolicies(global, teams, keys);
        if (errors.Count == 0 && policies.UsesContentSafety)
        {
            var cs = options.ContentSafety;
            if (string.IsNullOrWhiteSpace(cs.Endpoint) || !Uri.TryCreate(cs.Endpoint, UriKind.Absolute, out _))
                errors.Add("Gateway:Safety:ContentSafety:Endpoint: a policy uses contentSafety, so the Azure AI Content Safety endpoint (an absolute URL) is required.");
            if (cs.Auth is not ("entra" or "key")) errors.Add("Gateway:Safety:ContentSafety:Auth: entra or key.");
            if (cs.Auth == "key" && string.IsNullOrWhiteSpace(cs.ApiKeySetting)) errors.Add("Gateway:Safety:ContentSafety:ApiKeySetting: required with key auth (the app setting that holds the key).");
            if (cs.TimeoutMs is < 50 or > 60_000) errors.Add("Gateway:Safety:ContentSafety:TimeoutMs: between 50 and 60000.");
        }

        problems = errors;
        return policies;
    }

    private static Dictionary<string, SafetyPolicy> Level(Dictionary<string, string> settings, Func<string, string> at, List<string> errors)
    {
        var level = new Dictionary<string, SafetyPolicy>(StringComparer.Ordinal);
        foreach (var (name, setting) in settings)
        {
            var policy = SafetyPolicy.FromSetting(setting, out var problems);
            errors.AddRange(problems.Select(p => $"{at(name)}: {p}"));
            if (policy is not null) level[name] = policy;
        }

        return level;
    }

    /// <summary>The policy for a request: its levels composed, those limited to other models left out; null when none applies.</summary>
    public SafetyPolicy? For(string? team, string keyId, string model)
    {
        var teamKey = team is not null && _teams.ContainsKey(team) ? team : "";
        var key = _keys.ContainsKey(keyId) ? keyId : "";
        return _effective.GetOrAdd((teamKey, key, model), k =>
        {
            var effective = Applies(_global, k.Model);
            if (k.Team.Length > 0 && Applies(_teams[k.Team], k.Model) is { } t) effective = Compose(effective, t, "", null);
            if (k.Key.Length > 0 && Applies(_keys[k.Key], k.Model) is { } p) effective = Compose(effective, p, "", null);
            return effective;
        });
    }

    private static SafetyPolicy? Applies(SafetyPolicy? policy, string model) =>
        policy is null || policy.Models is null || policy.Models.Contains(model) ? policy : null;

    /// <summary><paramref name="over"/>'s rules over <paramref name="under"/>'s; a loosened locked rule is a problem (or, at run time, stays as it was).</summary>
    private static SafetyPolicy Compose(SafetyPolicy? under, SafetyPolicy over, string at, List<string>? errors)
    {
        if (under is null) return over;
        var actions = new Dictionary<string, SafetyAction>(under.Actions, StringComparer.Ordinal);
        foreach (var (detector, action) in over.Actions)
        {
            var current = actions.GetValueOrDefault(detector, SafetyAction.Off);
            if (under.Locked.Contains(detector) && action < current)
            {
                errors?.Add($"{at}: '{detector}' is locked at {current.ToString().ToLowerInvariant()} by '{under.Name}' and may not be loosened to {action.ToString().ToLowerInvariant()}.");
                continue;
            }

            actions[detector] = action;
        }

        var custom = new Dictionary<string, IDetector>(under.Custom, StringComparer.Ordinal);
        foreach (var (name, detector) in over.Custom)
        {
            if (custom.ContainsKey(name)) errors?.Add($"{at}: the custom rule '{name}' is already defined by '{under.Name}'.");
            custom[name] = detector;
        }

        return new SafetyPolicy($"{under.Name}+{over.Name}", actions)
        {
            Custom = custom,
            ContentSafety = over.ContentSafety ?? under.ContentSafety,
            Restore = over.Restore ?? under.Restore,
            Locked = new HashSet<string>(under.Locked.Concat(over.Locked), StringComparer.Ordinal),
        };
    }
}
