using System.Globalization;
using System.Text.Json.Nodes;

namespace Gateway.Core.Safety;

/// <summary>
/// The safety admin API's rules: describe the policy in force; evaluate a policy (the one in force, a template, or a
/// document) on given text or messages and return each decision — where, which detector, what action — and the text as
/// the model would get it, without calling a model.
/// </summary>
public static class SafetySimulation
{
    public const long MaxBodyBytes = 1024 * 1024;

    /// <summary>The policies in force: the global one (its detectors and actions) and the names of the team and key levels.</summary>
    public static JsonObject Describe(SafetyPoliciesHolder holder)
    {
        ArgumentNullException.ThrowIfNull(holder);
        var policies = holder.Current;
        var result = Describe(policies.Global);
        result["source"] = holder.Source;
        result["teams"] = Levels(policies.Teams);
        result["keys"] = Levels(policies.Keys);
        if (holder.CurrentJson is { } json) result["document"] = JsonNode.Parse(json);
        return result;
    }

    private static JsonObject Levels(IReadOnlyDictionary<string, SafetyPolicy> level) =>
        new(level.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => KeyValuePair.Create(l.Key, (JsonNode?)Describe(l.Value))));

    public static JsonObject Describe(SafetyPolicy? policy) => policy is null
        ? new JsonObject { ["policy"] = null, ["detectors"] = new JsonObject() }
        : new JsonObject
        {
            ["policy"] = policy.Name,
            ["detectors"] = new JsonObject(policy.Actions.Where(a => a.Value != SafetyAction.Off).OrderBy(a => a.Key, StringComparer.Ordinal)
                .Select(a => KeyValuePair.Create(a.Key, (JsonNode?)Name(a.Value)))),
            ["custom"] = new JsonArray([.. policy.Custom.Keys.Order(StringComparer.Ordinal).Select(k => (JsonNode)k)]),
            ["restore"] = policy.Restore == true,
        };

    /// <summary>
    /// Evaluates <c>policy</c> (a template or a document) when given; else the policy in force for the scope given by
    /// <c>team</c>, <c>key</c> (a key id) and <c>model</c> — the levels composed as a request there would get them —
    /// or the global policy when no scope is given.
    /// </summary>
    public static JsonObject Simulate(JsonObject body, SafetyPolicies inForce)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(inForce);
        string? Scope(string name) => body[name] switch
        {
            null => null,
            JsonValue v when v.TryGetValue<string>(out var s) && s.Length > 0 => s,
            _ => throw Errors.Errors.InvalidRequest($"'{name}' must be a non-empty string.", name, "invalid_value"),
        };
        var (team, key, model) = (Scope("team"), Scope("key"), Scope("model"));
        var policy = team is null && key is null && model is null ? inForce.Global : inForce.For(team, key ?? "", model ?? "");
        if (body["policy"] is { } given)
        {
            var setting = given is JsonValue v && v.TryGetValue<string>(out var name) ? name : given.ToJsonString();
            policy = SafetyPolicy.FromSetting(setting, out var problems);
            if (problems.Count > 0) throw Errors.Errors.InvalidRequest("The policy is invalid: " + string.Join("; ", problems.Take(50)), "policy", "invalid_policy");
        }

        if (policy is null)
            throw Errors.Errors.InvalidRequest("No safety policy is in force: give one as 'policy' (a template name or a policy document).", "policy", "missing_required_parameter");

        var decisions = new JsonArray();
        var placeholders = new Dictionary<string, string>(StringComparer.Ordinal);
        var strongest = SafetyAction.Off;
        string Evaluate(string text, string field)
        {
            var scan = SafetyScanner.Scan(text, policy);
            foreach (var f in scan.Findings)
            {
                decisions.Add(new JsonObject
                {
                    ["field"] = field, ["detector"] = f.Detector, ["action"] = Name(policy.Actions[f.Detector]), ["start"] = f.Start, ["length"] = f.Length,
                });
            }

            if (scan.Action > strongest) strongest = scan.Action;
            return SafetyScanner.Redact(text, scan, policy, placeholders);
        }

        var result = new JsonObject { ["policy"] = policy.Name };
        if (body["text"] is JsonValue t && t.TryGetValue<string>(out var plain))
        {
            result["redacted"] = Evaluate(plain, "text");
        }
        else if (body["messages"] is JsonArray messages)
        {
            var redacted = new JsonArray();
            for (var i = 0; i < messages.Count; i++)
            {
                if (messages[i] is not JsonObject message || message["content"] is not JsonValue c || !c.TryGetValue<string>(out var content))
                    throw Errors.Errors.InvalidRequest($"messages[{I(i)}] must be an object with string content.", $"messages[{I(i)}]", "invalid_value");
                var copy = (JsonObject)message.DeepClone();
                copy["content"] = Evaluate(content, $"messages[{I(i)}].content");
                redacted.Add(copy);
            }

            result["redacted"] = redacted;
        }
        else
        {
            throw Errors.Errors.InvalidRequest("Give 'text' (a string) or 'messages' (OpenAI chat messages with string content).", "text", "missing_required_parameter");
        }

        result["action"] = strongest == SafetyAction.Off ? "pass" : Name(strongest);
        result["decisions"] = decisions;
        return result;
    }

    private static string Name(SafetyAction action) => action.ToString().ToLowerInvariant();

    private static string I(int i) => i.ToString(CultureInfo.InvariantCulture);
}
