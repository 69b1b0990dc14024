using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Core.Analytics;

namespace Gateway.Core.Reports;

/// <summary>
/// The summary's JSON form, with the admin routes' conventions (<see cref="AnalyticsJson"/>): snake_case names in the model's
/// order, enums as snake_case strings, dates as <c>yyyy-MM-dd</c>, instants in UTC with a Z, exact decimals, nulls written.
/// </summary>
public static class SummaryJson
{
    public static JsonSerializerOptions Options { get; } = new(AnalyticsJson.Options);

    public static JsonObject ToJson(ExecutiveSummary summary) => JsonSerializer.SerializeToNode(summary, Options)!.AsObject();

    public static string Serialize(ExecutiveSummary summary) => JsonSerializer.Serialize(summary, Options);

    public static ExecutiveSummary? Deserialize(string json) => JsonSerializer.Deserialize<ExecutiveSummary>(json, Options);
}
