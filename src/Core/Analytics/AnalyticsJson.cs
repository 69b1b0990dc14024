using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Gateway.Core.Analytics;

/// <summary>
/// The snapshot's JSON form: snake_case names, enums as snake_case strings, dates as <c>yyyy-MM-dd</c>, instants in UTC
/// (<c>2026-11-29T00:00:00Z</c>, as the other admin routes write them), exact decimals.
/// </summary>
public static class AnalyticsJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.General)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false), new UtcInstantConverter() },
        // the stored document is read by people too: "6.1×" rather than "6.1\u00D7" (the route's writer escapes as it always does)
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        // a stored document missing a part, or holding null where none may be, is not a snapshot
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    public static string Serialize(AnalyticsSnapshot snapshot) => JsonSerializer.Serialize(snapshot, Options);

    public static JsonObject ToJson(AnalyticsSnapshot snapshot) => JsonSerializer.SerializeToNode(snapshot, Options)!.AsObject();

    private sealed class UtcInstantConverter : JsonConverter<DateTimeOffset>
    {
        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            DateTimeOffset.TryParse(reader.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
                ? at
                : throw new JsonException("not an ISO 8601 instant");

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture));
    }

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
