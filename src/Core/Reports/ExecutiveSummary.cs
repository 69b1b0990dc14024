using System.Text.Json.Serialization;
using Gateway.Core.Analytics;
using Gateway.Core.Budgets;

namespace Gateway.Core.Reports;

/// <summary>
/// The executive summary of a range of complete UTC days (<see cref="From"/> included, <see cref="To"/> not) for all traffic
/// or one scope: the spend and its trend against the previous range of equal length, the daily series, the month-end
/// forecast as of the range's last day, top consumers, budgets at risk, anomalies in the range and savings. Built by
/// <see cref="ExecutiveSummaryBuilder"/>; rendered as JSON (<see cref="SummaryJson"/>), CSV (<see cref="SummaryCsv"/>) and PDF.
/// An empty range (or one without traffic) gives zeros and empty lists, never an error.
/// </summary>
public sealed record ExecutiveSummary(
    DateOnly From,
    DateOnly To,
    int Days,
    string Scope,
    DateTimeOffset GeneratedAt,
    SpendTotals Spend,
    SpendTrend Trend,
    IReadOnlyList<DailySpend> Daily,
    MonthEndForecast? Forecast,
    IReadOnlyList<TopConsumers> TopConsumers,
    IReadOnlyList<BudgetAtRisk> BudgetsAtRisk,
    IReadOnlyList<RangeAnomaly> Anomalies,
    SavingsSummary Savings)
{
    [JsonPropertyOrder(-1)]
    public string Object { get; init; } = "executive_summary";

    /// <summary>The range's last day (the day before <see cref="To"/>); null for an empty range.</summary>
    [JsonIgnore]
    public DateOnly? LastDay => Days > 0 ? To.AddDays(-1) : null;
}

/// <summary>What a scope used over a range: exact cost (the sum of per-request costs), requests, failed requests and tokens.</summary>
public sealed record SpendTotals(decimal CostUsd, long Requests, long Errors, long TotalTokens)
{
    public static SpendTotals Zero { get; } = new(0m, 0, 0, 0);
}

/// <summary>
/// The range against the one of equal length before it (<see cref="PreviousFrom"/> included, <see cref="PreviousTo"/> =
/// the range's start, not). <see cref="ChangePct"/> is null when the previous range cost nothing.
/// </summary>
public sealed record SpendTrend(DateOnly PreviousFrom, DateOnly PreviousTo, SpendTotals Previous, decimal ChangeUsd, double? ChangePct);

/// <summary>One UTC day of the range (days without traffic are zeros).</summary>
public sealed record DailySpend(DateOnly Date, decimal CostUsd, long Requests);

/// <summary>
/// The projected total of the calendar month (UTC) of <see cref="AsOf"/>, the range's last day, from the analytics snapshot
/// of that day: the month to date, the projection and its 90 % prediction interval (null with under two days of history).
/// </summary>
public sealed record MonthEndForecast(
    DateOnly Month,
    DateOnly AsOf,
    int DaysElapsed,
    int DaysInMonth,
    decimal MonthToDateUsd,
    decimal ProjectedUsd,
    decimal? LowerUsd,
    decimal? UpperUsd,
    decimal RunRateUsdPerDay,
    ForecastMethod Method);

/// <summary>One scope in a ranking by cost over the range; <see cref="SharePct"/> is its share of its dimension's cost.</summary>
public sealed record Consumer(int Rank, string Value, decimal CostUsd, double SharePct, long Requests, long TotalTokens);

/// <summary>The dearest scopes of one dimension over the range.</summary>
public sealed record TopConsumers(string Dimension, IReadOnlyList<Consumer> Entries);

/// <summary>
/// A budget at risk as the analytics snapshot of the range's last day has it (see <see cref="BudgetForecast"/>): its period in
/// force at the end of that day — on a period's last day that is the next period, with what is spent in it so far.
/// </summary>
public sealed record BudgetAtRisk(
    string Scope,
    BudgetPeriodKind Period,
    string TimeZone,
    DateTimeOffset PeriodStart,
    decimal LimitUsd,
    decimal SpentUsd,
    decimal ProjectedUsd,
    decimal? UpperUsd,
    DateTimeOffset HorizonEnd,
    DateOnly? RunsOutOn,
    BudgetRisk Risk);

/// <summary>A spend or error-rate spike on a day of the range, against that day's baseline (see <see cref="Anomaly"/>).</summary>
public sealed record RangeAnomaly(
    DateOnly Date,
    AnomalyKind Kind,
    AnomalySeverity Severity,
    string Dimension,
    string Value,
    decimal Observed,
    decimal BaselineMedian,
    double? Ratio,
    string Reason);

/// <summary>One savings recommendation, as the summary shows it.</summary>
public sealed record SavingsItem(string Kind, string Scope, string Title, decimal EstimatedMonthlySavingUsd, string Confidence, string Evidence);

/// <summary>
/// The savings analysis of the range's last days (at most <c>Gateway:Savings:MaxRangeDays</c>; <see cref="From"/>..<see cref="To"/>
/// says which): what is on the table a month in total (recommendations may overlap) and the largest recommendations.
/// </summary>
public sealed record SavingsSummary(
    DateTimeOffset From,
    DateTimeOffset To,
    long Requests,
    decimal MonthlySpendUsd,
    decimal TotalMonthlySavingUsd,
    int Recommendations,
    IReadOnlyList<SavingsItem> Top);
