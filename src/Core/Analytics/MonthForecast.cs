namespace Gateway.Core.Analytics;

/// <summary>How a projection was made.</summary>
public enum ForecastMethod
{
    /// <summary>Nothing left to project: the period is over.</summary>
    Complete,
    /// <summary>A least-squares line through the recent days (its slope was significant).</summary>
    LinearTrend,
    /// <summary>The mean of the recent days.</summary>
    RunRate,
}

/// <summary>
/// The projected total of one scope for the calendar month (UTC) of the snapshot date: the month to date plus the
/// projection of the days left, with a 90 % prediction interval (<see cref="LowerUsd"/>..<see cref="UpperUsd"/>; null when
/// fewer than two days could be fitted). <see cref="DailyChangeUsd"/> is the fitted line's slope (0 for a run rate).
/// </summary>
public sealed record MonthForecast(
    string Dimension,
    string Value,
    DateOnly MonthStart,
    int DaysElapsed,
    int DaysInMonth,
    decimal MonthToDateUsd,
    decimal ProjectedUsd,
    decimal? LowerUsd,
    decimal? UpperUsd,
    decimal RunRateUsdPerDay,
    double DailyChangeUsd,
    ForecastMethod Method,
    int FitDays);
