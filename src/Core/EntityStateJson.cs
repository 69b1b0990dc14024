using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gateway.Core;

/// <summary>
/// How the Durable Entities' states (budgets, rate limits) are written as JSON: web defaults (camelCase), enums by
/// name so a reordered enum never changes a stored state's meaning, read-only once built.
/// </summary>
public static class EntityStateJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        options.Converters.Add(new JsonStringEnumConverter());
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
