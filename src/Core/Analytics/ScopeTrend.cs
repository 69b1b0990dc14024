namespace Gateway.Core.Analytics;

/// <summary>
/// One metric over a period against the period before: <see cref="Previous"/>, <see cref="Change"/> and
/// <see cref="ChangePct"/> are null when the previous period had no traffic; <see cref="ChangePct"/> is also null when
/// the previous value was 0.
/// </summary>
public sealed record MetricChange(decimal Current, decimal? Previous, decimal? Change, double? ChangePct);

/// <summary>A period (<see cref="From"/>..<see cref="To"/>, UTC days, both included) compared with the one before it.</summary>
public sealed record PeriodChange(DateOnly From, DateOnly To, DateOnly PreviousFrom, DateOnly PreviousTo, MetricChange CostUsd, MetricChange Requests, MetricChange Tokens);

/// <summary>
/// Growth of one scope: the day against the day before, the 7 days ending on the day against the 7 before, and the month
/// to date against the same days of the previous month (clamped to its length: March 1–31 against February 1–28).
/// </summary>
public sealed record ScopeTrend(string Dimension, string Value, PeriodChange Day, PeriodChange Week, PeriodChange Month);
