using Gateway.Core.Budgets;
using Gateway.Core.Usage;

namespace Gateway.Core.Analytics;

/// <summary>
/// What an analytics question is about: one dimension (<c>team</c>: every team) or one scope of it (<c>team:search</c>,
/// <c>tag:env=prod</c>, <c>all</c>). The text form is <c>dimension</c> or <c>dimension:value</c> (split at the first colon,
/// so values may hold colons); <c>all</c> and <c>global</c> name all traffic.
/// </summary>
public sealed record AnalyticsScope(string Dimension, string? Value)
{
    /// <summary>The longest value accepted (rollup values are at most 256 characters; tags 128 + 128).</summary>
    public const int MaxValueLength = 512;

    public static AnalyticsScope All { get; } = new(UsageDimensions.All, "*");

    public static AnalyticsScope Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = text.Trim();
        if (text is UsageDimensions.All or "global") return All;
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var dimension = colon < 0 ? text : text[..colon];
        var value = colon < 0 ? null : text[(colon + 1)..];
        if (!UsageDimensions.Names.Contains(dimension) || dimension == UsageDimensions.All)
            throw new FormatException($"'{dimension}' is not a dimension: use all, {string.Join(", ", UsageDimensions.Names.Skip(1))}, optionally followed by :<value>.");
        if (value is not null && (value.Length == 0 || value.Length > MaxValueLength))
            throw new FormatException($"A scope's value must have 1 to {MaxValueLength} characters.");
        return new AnalyticsScope(dimension, value);
    }

    /// <summary>The usage scope a budget is attached to (<c>global</c> is all traffic; a tag budget's id is the tag's <c>name=value</c>).</summary>
    public static AnalyticsScope Of(BudgetScope budget) => budget.Kind switch
    {
        BudgetScopeKind.Global => All,
        BudgetScopeKind.Key => new(UsageDimensions.Key, budget.Id),
        BudgetScopeKind.User => new(UsageDimensions.User, budget.Id),
        BudgetScopeKind.Team => new(UsageDimensions.Team, budget.Id),
        _ => new(UsageDimensions.Tag, budget.Id),
    };

    public bool Matches(string dimension, string value) => dimension == Dimension && (Value is null || value == Value);

    public override string ToString() => Dimension == UsageDimensions.All ? "all" : Value is null ? Dimension : $"{Dimension}:{Value}";

    /// <summary>How a scope reads in a sentence: <c>team=search</c>, or "all traffic".</summary>
    internal static string Label(string dimension, string value) => dimension == UsageDimensions.All ? "all traffic" : $"{dimension}={value}";
}
