using Gateway.Core.Budgets;

namespace Gateway.Core.Analytics;

/// <summary>How close a budget is to its limit by the end of its period.</summary>
public enum BudgetRisk
{
    /// <summary>Even the interval's upper end stays within the limit.</summary>
    None,
    /// <summary>The interval's upper end is above the limit; the projection is not.</summary>
    Possible,
    /// <summary>The projection is above the limit.</summary>
    Likely,
    /// <summary>The period's spend has already reached the limit.</summary>
    Exceeded,
}

/// <summary>A budget's period, as configured, and what its scope spent in it up to the snapshot (from the rollups).</summary>
public sealed record BudgetPeriodSpend(BudgetDefinition Definition, DateTimeOffset PeriodStart, DateTimeOffset PeriodEnd, decimal SpentUsd);

/// <summary>
/// One budget at the end of the snapshot date: its period in force then, the spend in it, the date it runs out at the
/// current rate (<see cref="DailyRateUsd"/>, the mean daily spend of its scope over the forecast window), and the spend
/// projected to <see cref="HorizonEnd"/> (the period's end; 30 days on for a lifetime budget) with its 90 % interval.
/// <see cref="RunsOutAt"/> is null when the budget does not run out before its period ends at that rate (or is already
/// exceeded); <see cref="RunsOutOn"/> is the last day, in the budget's time zone, that still has headroom.
/// </summary>
public sealed record BudgetForecast(
    string Scope,
    string Dimension,
    string Value,
    decimal LimitUsd,
    BudgetPeriodKind Period,
    string TimeZone,
    BudgetMode Mode,
    DateTimeOffset PeriodStart,
    DateTimeOffset? PeriodEnd,
    DateTimeOffset HorizonEnd,
    decimal SpentUsd,
    decimal RemainingUsd,
    decimal DailyRateUsd,
    DateTimeOffset? RunsOutAt,
    DateOnly? RunsOutOn,
    decimal ProjectedUsd,
    decimal? LowerUsd,
    decimal? UpperUsd,
    BudgetRisk Risk,
    bool AtRisk,
    ForecastMethod Method);
