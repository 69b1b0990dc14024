using System.Globalization;
using System.Text.Json.Nodes;

namespace Gateway.Core.Audit;

/// <summary>
/// The compliance report for a period: admin changes by kind (and each one: when, who, what), safety decisions by
/// action and detector, erasure requests and how long each took, refused authentication, and whether the log verifies.
/// </summary>
public static class AuditReport
{
    public static async Task<JsonObject> BuildAsync(AuditLog log, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(log);
        var adminByType = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var changes = new JsonArray();
        var safety = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var erasures = new JsonArray();
        long decisions = 0, refused = 0, budgetAlerts = 0;
        await foreach (var entry in log.QueryAsync(new AuditQuery(from, to), cancellationToken).ConfigureAwait(false))
        {
            var e = entry.Event;
            if (e.Type.StartsWith("admin.", StringComparison.Ordinal))
            {
                adminByType[e.Type] = adminByType.GetValueOrDefault(e.Type) + 1;
                changes.Add(new JsonObject { ["sequence"] = entry.Sequence, ["at"] = e.At, ["actor"] = e.Actor, ["type"] = e.Type, ["target"] = e.Target });
            }
            else if (e.Type == AuditEventTypes.SafetyDecision)
            {
                decisions++;
                foreach (var (key, count) in SafetyCounts(e.Details?.GetValueOrDefault("decision"))) safety[key] = safety.GetValueOrDefault(key) + count;
            }
            else if (e.Type == AuditEventTypes.UserDataErased)
            {
                erasures.Add(new JsonObject
                {
                    ["sequence"] = entry.Sequence, ["at"] = e.At, ["actor"] = e.Actor, ["subject"] = e.Subject,
                    ["duration_ms"] = e.Details?.GetValueOrDefault("durationMs") is { } ms && long.TryParse(ms, CultureInfo.InvariantCulture, out var n) ? n : null,
                });
            }
            else if (e.Type == AuditEventTypes.AuthRefused)
            {
                refused += e.Details?.GetValueOrDefault("count") is { } c && long.TryParse(c, CultureInfo.InvariantCulture, out var n) ? n : 0;
            }
            else if (e.Type == AuditEventTypes.BudgetAlert)
            {
                budgetAlerts++;
            }
        }

        var verification = await log.VerifyAsync(null, null, cancellationToken).ConfigureAwait(false);
        return new JsonObject
        {
            ["object"] = "gateway.audit_report",
            ["from"] = from,
            ["to"] = to,
            ["admin_changes"] = new JsonObject
            {
                ["total"] = changes.Count,
                ["by_type"] = new JsonObject([.. adminByType.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))]),
                ["changes"] = changes,
            },
            ["safety"] = new JsonObject
            {
                ["decisions"] = decisions,
                ["by_action_and_detector"] = new JsonObject([.. safety.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))]),
            },
            ["erasures"] = new JsonObject { ["total"] = erasures.Count, ["requests"] = erasures },
            ["refused_authentication"] = refused,
            ["budget_alerts"] = budgetAlerts,
            ["verification"] = Describe(verification),
        };
    }

    /// <summary>The report's or the verify endpoint's view of a verification.</summary>
    public static JsonObject Describe(VerificationReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var o = new JsonObject
        {
            ["ok"] = report.Ok,
            ["entries_checked"] = report.EntriesChecked,
            ["checkpoints_checked"] = report.CheckpointsChecked,
            ["verified_size"] = report.VerifiedSize,
            ["entries_unsealed"] = report.EntriesUnsealed,
        };
        if (report.First is { } first)
        {
            o["first_inconsistency"] = new JsonObject
            {
                ["kind"] = first.Kind, ["sequence"] = first.Sequence, ["checkpoint_size"] = first.CheckpointSize, ["message"] = first.Message,
            };
        }

        return o;
    }

    /// <summary>
    /// The counts in a decision string (<c>input: redact email=2 card=1, flag ipv4=1; provider: block provider.violence=1</c>)
    /// by <c>action detector</c>: <c>redact email</c> 2, <c>redact card</c> 1, <c>flag ipv4</c> 1, <c>block provider.violence</c> 1.
    /// </summary>
    public static IEnumerable<(string Key, long Count)> SafetyCounts(string? decision)
    {
        if (string.IsNullOrEmpty(decision)) yield break;
        foreach (var part in decision.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = part.IndexOf(':', StringComparison.Ordinal);
            foreach (var group in part[(colon + 1)..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var words = group.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                foreach (var word in words.Skip(1))
                {
                    var eq = word.LastIndexOf('=');
                    if (eq > 0 && long.TryParse(word.AsSpan(eq + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n)) yield return ($"{words[0]} {word[..eq]}", n);
                }
            }
        }
    }
}
