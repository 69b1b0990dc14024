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

    /// <summary>These policies with <paramref name="global"/> as the global one.</summary>
    public SafetyPolicies With(SafetyPolicy global) => new(global, _teams, _keys);

    /// <summary>The global policy (null when none).</summary>
    public SafetyPolicy? Global => _global;

    /// <summary>True when some policy uses Azure AI Content Safety.</summary>
    public bool UsesContentSafety => new[] { _global }.Concat(_teams.Values).Concat(_keys.Values).Any(p => p?.ContentSafety is not null);

    /// <summary>True when any level has a policy (otherwise the safety stage is left out of the pipeline).</summary>
    public bool Any => _global is not null || _teams.Count > 0 || _keys.Count > 0;

    /// <summary>The policies of <paramref name="options"/>; throws, listing every problem, when they are invalid.</summary>
    public static SafetyPolicies Load(SafetyOptions options)
    {
        var policies = Create(options, out var problems);
        if (problems.Count > 0)
            throw new InvalidOperationException("The safety settings are invalid:" + Environment.NewLine + string.Join(Environment.NewLine, problems.Select(p => "  - " + p)));
        return policies;
    }

    public static SafetyPolicies Create(SafetyOptions options, out IReadOnlyList<string> problems)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        var global = SafetyPolicy.FromSetting(options.Policy, out var globalProblems);
        errors.AddRange(globalProblems);
        var teams = Level(options.Teams, "Gateway:Safety:Teams", errors);
        var keys = Level(options.Keys, "Gateway:Safety:Keys", errors);
        if (errors.Count == 0)
        {
            // every loosening of a locked rule, whatever the models each level is limited to
            foreach (var (team, policy) in teams) Compose(global, policy, $"Gateway:Safety:Teams:{team}", errors);
            foreach (var (key, policy) in keys)
            {
                Compose(global, policy, $"Gateway:Safety:Keys:{key}", errors);
                foreach (var (team, teamPolicy) in teams) Compose(Compose(global, teamPolicy, "", null), policy, $"Gateway:Safety:Keys:{key} (under team '{team}')", errors);
            }
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

    private static Dictionary<string, SafetyPolicy> Level(Dictionary<string, string> settings, string section, List<string> errors)
    {
        var level = new Dictionary<string, SafetyPolicy>(StringComparer.Ordinal);
        foreach (var (name, setting) in settings)
        {
            var policy = SafetyPolicy.FromSetting(setting, out var problems);
            errors.AddRange(problems.Select(p => $"{section}:{name}: {p}"));
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
            Locked = new HashSet<string>(under.Locked.Concat(over.Locked), StringComparer.Ordinal),
        };
    }
}
