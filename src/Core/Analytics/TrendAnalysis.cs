using Gateway.Core.Usage;

namespace Gateway.Core.Analytics;

/// <summary>Day-over-day, week-over-week and month-over-month growth of cost, requests and tokens.</summary>
internal static class TrendAnalysis
{
    public static ScopeTrend Of(ScopeSeries series, DateOnly date)
    {
        var monthStart = new DateOnly(date.Year, date.Month, 1);
        var previousMonthStart = monthStart.AddMonths(-1);
        var previousMonthDays = Math.Min(date.Day, DateTime.DaysInMonth(previousMonthStart.Year, previousMonthStart.Month));
        return new ScopeTrend(series.Dimension, series.Value,
            Compare(series, date, date, date.AddDays(-1), date.AddDays(-1)),
            Compare(series, date.AddDays(-6), date, date.AddDays(-13), date.AddDays(-7)),
            Compare(series, monthStart, date, previousMonthStart, previousMonthStart.AddDays(previousMonthDays - 1)));
    }

    /// <summary>The window of days a trend reads: from the first day of the previous month, or 13 days back if earlier.</summary>
    public static DateOnly FirstDayNeeded(DateOnly date)
    {
        var previousMonth = new DateOnly(date.Year, date.Month, 1).AddMonths(-1);
        var weekBack = date.AddDays(-13);
        return previousMonth < weekBack ? previousMonth : weekBack;
    }

    private static PeriodChange Compare(ScopeSeries series, DateOnly from, DateOnly to, DateOnly previousFrom, DateOnly previousTo)
    {
        var current = series.Sum(from, to);
        var previous = series.Sum(previousFrom, previousTo);
        var empty = previous.Requests == 0;
        return new PeriodChange(from, to, previousFrom, previousTo,
            Change(current.CostUsd, previous.CostUsd, empty),
            Change(current.Requests, previous.Requests, empty),
            Change(current.TotalTokens, previous.TotalTokens, empty));
    }

    private static MetricChange Change(decimal current, decimal previous, bool previousEmpty)
    {
        if (previousEmpty) return new MetricChange(current, null, null, null);
        double? pct = previous == 0 ? null : Math.Round((double)((current - previous) / previous) * 100, 2);
        return new MetricChange(current, previous, current - previous, pct);
    }
}
