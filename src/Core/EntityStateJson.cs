using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gateway.Core;

/// <summary>
/// How the Durable Entities' states (budgets, rate limits) are written as JSON: web defaults (camelCase), enums by
/// name so a reordered enum never changes a stored state's meaning, read-only once built.
/// </summary>
public static class EntityStateJson
{
    public static JsonSerializerOptions Options { get; } = Create(JsonIgnoreCondition.Never);

    /// <summary>The same, leaving out nulls: for commands, which are read back with <see cref="Options"/>.</summary>
    public static JsonSerializerOptions Compact { get; } = Create(JsonIgnoreCondition.WhenWritingNull);

    /// <summary>The same, leaving out nulls and default values: for replies (types without required members), read back with <see cref="Options"/>.</summary>
    public static JsonSerializerOptions Replies { get; } = Create(JsonIgnoreCondition.WhenWritingDefault);

    private static JsonSerializerOptions Create(JsonIgnoreCondition ignore)
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = ignore };
        options.Converters.Add(new JsonStringEnumConverter());
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
