namespace Gateway.Core.Analytics;

/// <summary>The parameters a snapshot was computed with, so its numbers can be read (see <see cref="AnalyticsOptions"/>).</summary>
public sealed record AnalyticsParameters(
    int BaselineDays,
    int MinBaselineDays,
    decimal SpendMinUsd,
    double SpendMinRatio,
    double MinScore,
    long ErrorMinRequests,
    long ErrorMinErrors,
    double ErrorMinRateIncrease,
    int ForecastWindowDays,
    double IntervalLevel,
    int TopN,
    long TopMinRequests,
    int MaxScopesPerDimension)
{
    public static AnalyticsParameters From(AnalyticsOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        return new(o.BaselineDays, o.MinBaselineDays, o.SpendMinUsd, o.SpendMinRatio, o.MinScore, o.ErrorMinRequests, o.ErrorMinErrors,
            o.ErrorMinRateIncrease, o.ForecastWindowDays, SpendModel.Level, o.TopN, o.TopMinRequests, o.MaxScopesPerDimension);
    }
}

/// <summary>How many scopes of a dimension had traffic in the window read, and how many of them have trends and forecasts in the snapshot.</summary>
public sealed record DimensionCoverage(string Dimension, int Scopes, int Included);

/// <summary>
/// Everything the analytics engine says about one UTC day (<see cref="Date"/>), as of its end (<see cref="AsOf"/>): trends,
/// month-end forecasts, budgets, anomalies and top-N rankings. Serialised with <see cref="AnalyticsJson"/>; stored daily
/// and answered by <c>GET /gateway/analytics</c>. <see cref="Scope"/> is set when the snapshot was narrowed to one.
/// </summary>
public sealed record AnalyticsSnapshot(
    DateOnly Date,
    DateTimeOffset AsOf,
    DateTimeOffset ComputedAt,
    string? Scope,
    AnalyticsParameters Parameters,
    IReadOnlyList<DimensionCoverage> Coverage,
    IReadOnlyList<ScopeTrend> Trends,
    IReadOnlyList<MonthForecast> Forecasts,
    IReadOnlyList<BudgetForecast> Budgets,
    IReadOnlyList<Anomaly> Anomalies,
    TopLeaders Top)
{
    [System.Text.Json.Serialization.JsonPropertyOrder(-1)]
    public string Object { get; init; } = "analytics_snapshot";

    /// <summary>The parts of the snapshot about <paramref name="scope"/>; rankings keep the scope's whole dimension (where it stands among its peers).</summary>
    public AnalyticsSnapshot For(AnalyticsScope scope)
    {
        ArgumentNullException.ThrowIfNull(scope);
        return this with
        {
            Scope = scope.ToString(),
            Coverage = [.. Coverage.Where(c => c.Dimension == scope.Dimension)],
            Trends = [.. Trends.Where(t => scope.Matches(t.Dimension, t.Value))],
            Forecasts = [.. Forecasts.Where(f => scope.Matches(f.Dimension, f.Value))],
            Budgets = [.. Budgets.Where(b => scope.Matches(b.Dimension, b.Value))],
            Anomalies = [.. Anomalies.Where(a => scope.Matches(a.Dimension, a.Value))],
            Top = new TopLeaders([.. Top.Day.Where(d => d.Dimension == scope.Dimension)], [.. Top.MonthToDate.Where(d => d.Dimension == scope.Dimension)]),
        };
    }
}
