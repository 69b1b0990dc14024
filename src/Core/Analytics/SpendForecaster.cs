namespace Gateway.Core.Analytics;

/// <summary>Month-end projections of a scope's spend (see <see cref="SpendModel"/> for the method).</summary>
internal static class SpendForecaster
{
    /// <summary>The fitted window: the last <paramref name="windowDays"/> days up to <paramref name="date"/>, from the scope's first day of traffic if later.</summary>
    public static (DateOnly From, int Days) Window(ScopeSeries series, DateOnly date, int windowDays)
    {
        var from = date.AddDays(1 - windowDays);
        if (series.FirstDay is { } first && first > from) from = first;
        return from > date ? (date, 0) : (from, date.DayNumber - from.DayNumber + 1);
    }

    /// <summary>The model fitted on the window and the mean daily spend over it (exact), or (null, 0) without traffic.</summary>
    public static (SpendModel? Model, decimal RunRate) Fit(ScopeSeries series, DateOnly date, int windowDays)
    {
        var (from, days) = Window(series, date, windowDays);
        if (days == 0) return (null, 0m);
        var values = new List<double>(days);
        var sum = 0m;
        for (var d = from; d <= date; d = d.AddDays(1))
        {
            var cost = series.Day(d).CostUsd;
            sum += cost;
            values.Add((double)cost);
        }

        return (SpendModel.Fit(values), sum / days);
    }

    public static MonthForecast Month(ScopeSeries series, DateOnly date, int windowDays)
    {
        var monthStart = new DateOnly(date.Year, date.Month, 1);
        var daysInMonth = DateTime.DaysInMonth(date.Year, date.Month);
        var toDate = series.Sum(monthStart, date).CostUsd;
        var left = daysInMonth - date.Day;
        var (model, runRate) = Fit(series, date, windowDays);
        var fitted = model?.N ?? 0;
        if (left == 0 || model is null)
        {
            // the month is over, or the scope had no traffic to project from: what is spent is the total
            return new MonthForecast(series.Dimension, series.Value, monthStart, date.Day, daysInMonth, toDate, toDate, toDate, toDate,
                Money(runRate), 0, left == 0 ? ForecastMethod.Complete : ForecastMethod.RunRate, fitted);
        }

        var (center, half) = model.Project(left);
        return new MonthForecast(series.Dimension, series.Value, monthStart, date.Day, daysInMonth, toDate,
            toDate + Money(center),
            half is { } h ? toDate + Money(Math.Max(0, center - h)) : null,
            half is { } h2 ? toDate + Money(center + h2) : null,
            Money(runRate), Math.Round(model.Slope, 6), model.Method, fitted);
    }

    /// <summary>Dollars to six decimals (projections are estimates; sums of recorded costs stay exact elsewhere).</summary>
    internal static decimal Money(double usd) => double.IsFinite(usd) ? (decimal)Math.Round(Math.Clamp(usd, -1e15, 1e15), 6) : 0m;

    internal static decimal Money(decimal usd) => Math.Round(usd, 6, MidpointRounding.AwayFromZero);
}
