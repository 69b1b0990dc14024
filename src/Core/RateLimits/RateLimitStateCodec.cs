using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Gateway.Core.RateLimits;

/// <summary>JSON form of <see cref="RateLimitState"/> (camelCase, exact decimals) with upgrades from older versions.</summary>
/// <remarks>
/// Version 1 kept what was left in each bucket as a (fractional) count, <c>requestsRemaining</c> and
/// <c>tokensRemaining</c>; version 2 keeps integer unit·tick levels. <see cref="Upgrade"/> converts by multiplying by
/// the window length in ticks (rounded down, so an upgrade never grants capacity).
/// </remarks>
public static class RateLimitStateCodec
{
    public static JsonSerializerOptions Options => EntityStateJson.Options;

    public static string Serialize(RateLimitState state) => JsonSerializer.Serialize(state, Options);

    /// <exception cref="JsonException">Not a rate-limit state, or a version newer than this code.</exception>
    public static RateLimitState Deserialize(string json)
    {
        var node = JsonNode.Parse(json) as JsonObject ?? throw new JsonException("a rate-limit state is a JSON object");
        return Upgrade(node).Deserialize<RateLimitState>(Options) ?? throw new JsonException("a rate-limit state is a JSON object");
    }

    /// <summary>The migration hook: upgrades a state document of an older schema version to the current one.</summary>
    public static JsonObject Upgrade(JsonObject document)
    {
        ArgumentNullException.ThrowIfNull(document);
        var version = document["schemaVersion"]?.GetValue<int>() ?? 1;
        if (version > RateLimitState.CurrentSchemaVersion) throw new JsonException($"rate-limit state version {version} is newer than this code");
        if (version == 1) document = FromVersion1(document);
        return document;
    }

    private static JsonObject FromVersion1(JsonObject v1)
    {
        var v2 = (JsonObject)v1.DeepClone();
        var windowTicks = v2["definition"]?["window"] is JsonValue window
            ? TimeSpan.Parse(window.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture).Ticks
            : TimeSpan.TicksPerMinute;
        v2["requestLevel"] = decimal.Floor((v2["requestsRemaining"]?.GetValue<decimal>() ?? 0m) * windowTicks);
        v2["tokenLevel"] = decimal.Floor((v2["tokensRemaining"]?.GetValue<decimal>() ?? 0m) * windowTicks);
        v2.Remove("requestsRemaining");
        v2.Remove("tokensRemaining");
        v2["schemaVersion"] = 2;
        return v2;
    }
}
