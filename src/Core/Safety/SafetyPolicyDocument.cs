using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Gateway.Core.Safety;

/// <summary>
/// A policy document: a template to start from, rules that change a detector's action, and custom detectors.
/// <code>
/// { "name": "acme", "extends": "baseline",
///   "rules": { "email": "redact", "injection": { "action": "block", "locked": true } },
///   "models": [ "gpt-4o" ],
///   "custom": [ { "name": "codenames", "keywords": ["bluebird", "kestrel"], "action": "block" },
///               { "name": "employee-id", "regex": "EMP-\\d{6}", "action": "redact" } ] }
/// </code>
/// Parsing lists every problem at once, each with its JSON path. Custom regular expressions run with .NET's
/// non-backtracking engine (time linear in the text, so no rule can hang a request); keywords match whole words,
/// ignoring case.
/// </summary>
public static class SafetyPolicyDocument
{
    public const int MaxCustomRules = 64;
    public const int MaxKeywords = 1000;
    public const int MaxPatternLength = 1000;

    public static SafetyPolicy? Parse(string json, out IReadOnlyList<string> problems)
    {
        var errors = new List<string>();
        problems = errors;
        JsonObject? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { MaxDepth = 16 }) as JsonObject;
        }
        catch (JsonException ex)
        {
            errors.Add($"$: not valid JSON ({ex.Message.Split('.')[0]}).");
            return null;
        }

        if (root is null)
        {
            errors.Add("$: a policy document is a JSON object.");
            return null;
        }

        foreach (var (key, _) in root)
        {
            if (key is not ("name" or "extends" or "rules" or "custom" or "models" or "contentSafety" or "restore"))
                errors.Add($"$.{key}: unknown field (name, extends, rules, custom, models, contentSafety, restore).");
        }

        var name = root["name"] is JsonValue n && n.TryGetValue<string>(out var s) && !string.IsNullOrWhiteSpace(s) ? s.Trim() : null;
        if (name is null) errors.Add("$.name: required, a non-empty string.");
        else if (name.Length > 64) errors.Add("$.name: at most 64 characters.");

        var actions = new Dictionary<string, SafetyAction>(StringComparer.Ordinal);
        if (root["extends"] is { } extends)
        {
            if (extends is JsonValue e && e.TryGetValue<string>(out var template) && SafetyPolicy.Templates.TryGetValue(template, out var basePolicy))
            {
                foreach (var (detector, action) in basePolicy.Actions) actions[detector] = action;
            }
            else errors.Add($"$.extends: one of {string.Join(", ", SafetyPolicy.Templates.Keys)}.");
        }

        var custom = new Dictionary<string, IDetector>(StringComparer.Ordinal);
        var locked = new HashSet<string>(StringComparer.Ordinal);
        HashSet<string>? models = null;
        if (root["models"] is { } modelsNode)
        {
            if (modelsNode is not JsonArray list || list.Count == 0 || list.Any(m => m is not JsonValue v || !v.TryGetValue<string>(out var model) || string.IsNullOrWhiteSpace(model)))
                errors.Add("$.models: a non-empty array of model names (the policy applies to those models only).");
            else models = [.. list.Select(m => ((string)m!).Trim())];
        }

        if (root["custom"] is { } customNode)
        {
            if (customNode is not JsonArray rules) errors.Add("$.custom: an array of rules.");
            else
            {
                if (rules.Count > MaxCustomRules) errors.Add($"$.custom: at most {MaxCustomRules} rules.");
                for (var i = 0; i < rules.Count; i++) ParseCustom(rules[i], $"$.custom[{i.ToString(CultureInfo.InvariantCulture)}]", custom, actions, errors);
            }
        }

        if (root["rules"] is { } rulesNode)
        {
            if (rulesNode is not JsonObject rules) errors.Add("$.rules: an object of detector → action.");
            else
            {
                foreach (var (detector, value) in rules)
                {
                    var at = $"$.rules.{detector}";
                    if (!Detectors.All.ContainsKey(detector) && !custom.ContainsKey(detector))
                        errors.Add($"{at}: no such detector (built-in: {string.Join(", ", Detectors.All.Keys)}; or a custom rule's name).");
                    else if (value is JsonObject withLock)
                    {
                        foreach (var (field, _) in withLock)
                        {
                            if (field is not ("action" or "locked")) errors.Add($"{at}.{field}: unknown field (action, locked).");
                        }

                        if (Action(withLock["action"], at + ".action", errors) is { } lockedAction) actions[detector] = lockedAction;
                        if (withLock["locked"] is { } flag)
                        {
                            if (flag is JsonValue b && b.TryGetValue<bool>(out var isLocked)) { if (isLocked) locked.Add(detector); }
                            else errors.Add($"{at}.locked: true or false.");
                        }
                    }
                    else if (Action(value, at, errors) is { } action) actions[detector] = action;
                }
            }
        }

        var contentSafety = root["contentSafety"] is { } cs ? ParseContentSafety(cs, errors) : null;
        bool? restore = null;
        if (root["restore"] is { } r)
        {
            if (r is JsonValue rv && rv.TryGetValue<bool>(out var on)) restore = on;
            else errors.Add("$.restore: true (put the user's own redacted values back into the answer) or false.");
        }

        if (errors.Count > 0) return null;
        return new SafetyPolicy(name!, actions) { Custom = custom, Locked = locked, Models = models, ContentSafety = contentSafety, Restore = restore };
    }

    private static void ParseCustom(JsonNode? node, string at, Dictionary<string, IDetector> custom, Dictionary<string, SafetyAction> actions, List<string> errors)
    {
        if (node is not JsonObject rule)
        {
            errors.Add($"{at}: a rule object with name, action and keywords or regex.");
            return;
        }

        var name = rule["name"] is JsonValue n && n.TryGetValue<string>(out var s) ? s.Trim() : null;
        if (string.IsNullOrEmpty(name) || name.Length > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            errors.Add($"{at}.name: required: letters, digits, '-' or '_', at most 64.");
            name = null;
        }
        else if (Detectors.All.ContainsKey(name) || custom.ContainsKey(name))
        {
            errors.Add($"{at}.name: '{name}' is already a detector's name.");
            name = null;
        }

        var action = Action(rule["action"], at + ".action", errors);
        Regex? pattern = null;
        var hasKeywords = rule["keywords"] is not null;
        var hasRegex = rule["regex"] is not null;
        if (hasKeywords == hasRegex) errors.Add($"{at}: exactly one of keywords and regex.");
        else if (hasKeywords)
        {
            if (rule["keywords"] is not JsonArray words || words.Count == 0 || words.Count > MaxKeywords
                || words.Any(w => w is not JsonValue v || !v.TryGetValue<string>(out var word) || string.IsNullOrWhiteSpace(word) || word.Length > 200))
                errors.Add($"{at}.keywords: 1 to {MaxKeywords} non-empty strings of at most 200 characters.");
            else
            {
                var alternatives = string.Join('|', words.Select(w => Regex.Escape(((string)w!).Trim())).OrderByDescending(w => w.Length));
                pattern = new Regex($@"\b(?:{alternatives})\b", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase | RegexOptions.NonBacktracking);
            }
        }
        else if (rule["regex"] is not JsonValue r || !r.TryGetValue<string>(out var source) || source.Length == 0 || source.Length > MaxPatternLength)
        {
            errors.Add($"{at}.regex: a non-empty pattern of at most {MaxPatternLength} characters.");
        }
        else
        {
            try
            {
                pattern = new Regex(source, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking, TimeSpan.FromMilliseconds(250));
                if (pattern.IsMatch("")) errors.Add($"{at}.regex: matches the empty string, so it would match everywhere.");
            }
            catch (ArgumentException ex)
            {
                errors.Add($"{at}.regex: not a valid pattern for the non-backtracking engine (no backreferences or lookarounds): {ex.Message.Split(Environment.NewLine)[0]}");
                pattern = null;
            }
            catch (NotSupportedException ex)
            {
                errors.Add($"{at}.regex: uses what the non-backtracking engine does not support (backreferences, lookarounds, atomic groups): {ex.Message.Split(Environment.NewLine)[0]}");
                pattern = null;
            }
        }

        if (name is null || action is null || pattern is null) return;
        custom[name] = new PatternDetector(name, pattern);
        actions[name] = action.Value;
    }

    private static readonly string[] Categories = ["Hate", "Sexual", "Violence", "SelfHarm"];

    private static ContentSafetyRule? ParseContentSafety(JsonNode node, List<string> errors)
    {
        if (node is not JsonObject o)
        {
            errors.Add("$.contentSafety: an object (blockAt, promptShield, blocklists, failMode, mode, output, protectedMaterial).");
            return null;
        }

        var before = errors.Count;
        foreach (var (key, _) in o)
        {
            if (key is not ("blockAt" or "promptShield" or "blocklists" or "failMode" or "mode" or "output" or "protectedMaterial"))
                errors.Add($"$.contentSafety.{key}: unknown field (blockAt, promptShield, blocklists, failMode, mode, output, protectedMaterial).");
        }

        var blockAt = new Dictionary<string, int>(StringComparer.Ordinal);
        if (o["blockAt"] is { } b)
        {
            if (b is not JsonObject thresholds) errors.Add("$.contentSafety.blockAt: an object of category → severity.");
            else
            {
                foreach (var (category, value) in thresholds)
                {
                    if (!Categories.Contains(category)) errors.Add($"$.contentSafety.blockAt.{category}: one of {string.Join(", ", Categories)}.");
                    else if (value is JsonValue v && v.TryGetValue<int>(out var severity) && severity is 0 or 2 or 4 or 6) blockAt[category] = severity;
                    else errors.Add($"$.contentSafety.blockAt.{category}: a severity of 0, 2, 4 or 6.");
                }
            }
        }

        var shield = false;
        if (o["promptShield"] is { } p && !(p is JsonValue pv && pv.TryGetValue(out shield))) errors.Add("$.contentSafety.promptShield: true or false.");
        var lists = new List<string>();
        if (o["blocklists"] is { } l)
        {
            if (l is not JsonArray names || names.Any(n => n is not JsonValue nv || !nv.TryGetValue<string>(out var name) || string.IsNullOrWhiteSpace(name)))
                errors.Add("$.contentSafety.blocklists: an array of blocklist names.");
            else lists.AddRange(names.Select(n => (string)n!));
        }

        var failClosed = false;
        if (o["failMode"] is { } f)
        {
            var mode = f is JsonValue fv && fv.TryGetValue<string>(out var m) ? m : null;
            if (mode is not ("open" or "closed")) errors.Add("$.contentSafety.failMode: open (let through, flagged) or closed (refuse with 503).");
            failClosed = mode == "closed";
        }

        var parallel = false;
        if (o["mode"] is { } md)
        {
            var mode = md is JsonValue mv && mv.TryGetValue<string>(out var m) ? m : null;
            if (mode is not ("before" or "parallel")) errors.Add("$.contentSafety.mode: before (check, then call) or parallel (check while calling, hold the answer until it passes).");
            parallel = mode == "parallel";
        }

        var output = false;
        if (o["output"] is { } ov && !(ov is JsonValue ovv && ovv.TryGetValue(out output))) errors.Add("$.contentSafety.output: true or false.");
        var protectedMaterial = false;
        if (o["protectedMaterial"] is { } pm && !(pm is JsonValue pmv && pmv.TryGetValue(out protectedMaterial))) errors.Add("$.contentSafety.protectedMaterial: true or false.");
        if (output && blockAt.Count == 0 && lists.Count == 0) errors.Add("$.contentSafety.output: analysing answers needs blockAt or blocklists.");

        if (errors.Count == before && blockAt.Count == 0 && !shield && lists.Count == 0 && !protectedMaterial)
            errors.Add("$.contentSafety: checks nothing: give blockAt, promptShield, blocklists or protectedMaterial.");
        return errors.Count > before ? null : new ContentSafetyRule(blockAt, shield, lists, failClosed)
        {
            Parallel = parallel, Output = output, ProtectedMaterial = protectedMaterial,
        };
    }

    private static SafetyAction? Action(JsonNode? node, string at, List<string> errors)
    {
        if (node is JsonValue v && v.TryGetValue<string>(out var text))
        {
            switch (text)
            {
                case "off": return SafetyAction.Off;
                case "flag": return SafetyAction.Flag;
                case "redact": return SafetyAction.Redact;
                case "block": return SafetyAction.Block;
            }
        }

        errors.Add($"{at}: one of off, flag, redact, block.");
        return null;
    }
}
