using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Gateway.Core.Budgets;

/// <summary>
/// JSON form of <see cref="BudgetState"/> (camelCase, enums as strings, decimals exact), with upgrades from older
/// schema versions.
/// </summary>
/// <remarks>
/// Version 1 was the pre-lease layout: thresholds raised were stored as whole percents (<c>raisedPercents</c>),
/// reservations had only <c>amountUsd</c> and <c>expiresAt</c>, and there were no leases and no <c>createdAt</c>.
/// <see cref="Upgrade"/> rewrites such a document into the current shape before it is read; the state is written back in
/// the current version by the next operation.
/// </remarks>
public static class BudgetStateCodec
{
    public static JsonSerializerOptions Options => EntityStateJson.Options;

    /// <summary>Migrations by the version they upgrade <i>from</i>; each returns the document one version newer.</summary>
    private static readonly Dictionary<int, Func<JsonObject, JsonObject>> Migrations = new()
    {
        [1] = FromVersion1,
    };

    public static string Serialize(BudgetState state) => JsonSerializer.Serialize(state, Options);

    /// <summary>Reads a state of any known schema version.</summary>
    /// <exception cref="JsonException">Not a budget state, or a version newer than this code.</exception>
    public static BudgetState Deserialize(string json)
    {
        var node = JsonNode.Parse(json) as JsonObject ?? throw new JsonException("a budget state is a JSON object");
        return Upgrade(node).Deserialize<BudgetState>(Options) ?? throw new JsonException("a budget state is a JSON object");
    }

    /// <summary>The migration hook: upgrades a state document of an older schema version to the current one.</summary>
    public static JsonObject Upgrade(JsonObject document)
    {
        ArgumentNullException.ThrowIfNull(document);
        var version = document["schemaVersion"]?.GetValue<int>() ?? 1;
        if (version > BudgetState.CurrentSchemaVersion) throw new JsonException($"budget state version {version} is newer than this code ({BudgetState.CurrentSchemaVersion})");
        while (version < BudgetState.CurrentSchemaVersion)
        {
            if (!Migrations.TryGetValue(version, out var migrate)) throw new JsonException($"no migration from budget state version {version}");
            document = migrate(document);
            version = document["schemaVersion"]!.GetValue<int>();
        }

        return document;
    }

    private static JsonObject FromVersion1(JsonObject v1)
    {
        var v2 = (JsonObject)v1.DeepClone();
        var raised = new JsonArray();
        if (v2["raisedPercents"] is JsonArray percents)
        {
            foreach (var percent in percents) raised.Add(percent!.GetValue<decimal>() / 100m);
        }

        v2.Remove("raisedPercents");
        v2["thresholdsRaised"] = raised;
        if (v2["reservations"] is JsonObject reservations)
        {
            foreach (var (_, value) in reservations)
            {
                if (value is not JsonObject reservation) continue;
                reservation["exposureUsd"] = reservation["amountUsd"]?.DeepClone();
                reservation["tail"] = false;
            }
        }

        v2["createdAt"] ??= v2["periodStart"]?.DeepClone();
        v2["leases"] ??= new JsonObject();
        v2["closedLeases"] ??= new JsonObject();
        v2["leaseSequence"] ??= 0;
        v2["schemaVersion"] = 2;
        return v2;
    }
}
