using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Core.Configuration;

namespace Gateway.Core.Safety;

/// <summary>
/// The safety policies in force, replaceable at runtime like the pricing catalog. They start as configured
/// (<c>Gateway:Safety</c>); a policy document uploaded through the admin API (or to its blob) replaces every level at
/// once on every instance:
/// <code>{ "policy": "baseline" | { policy document }, "teams": { "payments": "pii-redact" }, "keys": { "key_abc": { … } } }</code>
/// It is validated first, every problem listed (unknown fields, bad documents, locked rules loosened, Content Safety
/// used without an endpoint); an invalid document changes nothing. The Content Safety resource itself stays configured.
/// </summary>
public sealed class SafetyPoliciesHolder : IReplaceableDocument
{
    private readonly ContentSafetyOptions _contentSafety;
    private State _state;

    private sealed record State(SafetyPolicies Policies, string? Json);

    public SafetyPoliciesHolder(SafetyOptions configured)
    {
        ArgumentNullException.ThrowIfNull(configured);
        _contentSafety = configured.ContentSafety;
        _state = new State(SafetyPolicies.Load(configured), null);
    }

    /// <summary>The policies in force.</summary>
    public SafetyPolicies Current => Volatile.Read(ref _state).Policies;

    /// <summary>Where the policies in force came from: <c>configuration</c> or <c>admin</c> (a stored document).</summary>
    public string Source => Volatile.Read(ref _state).Json is null ? "configuration" : "admin";

    public string What => "safety policy document";

    public string? CurrentJson => Volatile.Read(ref _state).Json;

    public string Describe() => Current.Global?.Name ?? "none";

    public void Validate(string json) => Parse(json);

    public void Install(string json) => Volatile.Write(ref _state, new State(Parse(json), json));

    private SafetyPolicies Parse(string json)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException ex)
        {
            throw new DocumentRejectedException(What, [$"$: not valid JSON ({ex.Message.Split('.')[0]})."]);
        }

        if (root is not JsonObject document) throw new DocumentRejectedException(What, ["$: must be an object with policy, teams and keys."]);
        var problems = new List<string>();
        var options = new SafetyOptions { ContentSafety = _contentSafety };
        foreach (var (name, value) in document)
        {
            switch (name)
            {
                case "policy":
                    options.Policy = Setting(value, "policy", problems);
                    break;
                case "teams":
                    Level(value, "teams", options.Teams, problems);
                    break;
                case "keys":
                    Level(value, "keys", options.Keys, problems);
                    break;
                default:
                    problems.Add($"{name}: unknown field; a safety policy document has policy, teams and keys.");
                    break;
            }
        }

        // the levels that have the right shape are checked too, so every problem is listed at once
        var policies = SafetyPolicies.Create(options, out var invalid, document: true);
        problems.AddRange(invalid);
        if (problems.Count > 0) throw new DocumentRejectedException(What, problems);
        return policies;
    }

    private static void Level(JsonNode? value, string at, Dictionary<string, string> into, List<string> problems)
    {
        if (value is null) return;
        if (value is not JsonObject level)
        {
            problems.Add($"{at}: must be an object of policies by name.");
            return;
        }

        foreach (var (name, policy) in level)
        {
            if (string.IsNullOrWhiteSpace(name)) problems.Add($"{at}: a name may not be empty.");
            else if (Setting(policy, $"{at}.{name}", problems) is { } setting) into[name] = setting;
        }
    }

    /// <summary>A level's policy as a setting: a template name or a document (as JSON text).</summary>
    private static string? Setting(JsonNode? value, string at, List<string> problems)
    {
        switch (value)
        {
            case null:
                return null;
            case JsonValue v when v.TryGetValue<string>(out var template):
                if (template.TrimStart().StartsWith('{')) problems.Add($"{at}: give a policy document as an object, not a string.");
                return template;
            case JsonObject document:
                return document.ToJsonString();
            default:
                problems.Add($"{at}: a template name or a policy document (an object).");
                return null;
        }
    }
}
