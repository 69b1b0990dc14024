using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Gateway.Core.Analytics;

/// <summary>The snapshot's JSON form: snake_case names, enums as snake_case strings, dates as <c>yyyy-MM-dd</c>, exact decimals.</summary>
public static class AnalyticsJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.General)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        // a stored document missing a part, or holding null where none may be, is not a snapshot
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    public static string Serialize(AnalyticsSnapshot snapshot) => JsonSerializer.Serialize(snapshot, Options);

    public static JsonObject ToJson(AnalyticsSnapshot snapshot) => JsonSerializer.SerializeToNode(snapshot, Options)!.AsObject();

    /// <summary>Reads a stored snapshot; null when the text is not one (a damaged blob is recomputed, not answered).</summary>
    public static AnalyticsSnapshot? Deserialize(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<AnalyticsSnapshot>(json, Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
