using Gateway.Core.Analytics;
using Gateway.Core.Usage;
using static Gateway.Core.Tests.Analytics.AnalyticsData;

namespace Gateway.Core.Tests.Analytics;

/// <summary>Month-end forecasts: the projection, its 90 % interval against the real outcome, and the month's edges.</summary>
public sealed class SpendForecastTests
{
    private static readonly DateOnly Start = Date("2026-10-01");

    /// <summary>Daily spend 20 + 1.5 t dollars (t = days since Oct 1) plus normal noise of sd 4, the same on every run for a seed.</summary>
    private static Dictionary<DateOnly, decimal> Linear(int seed, DateOnly to)
    {
        var noise = Normal(seed);
        var days = new Dictionary<DateOnly, decimal>();
        for (var d = Start; d <= to; d = d.AddDays(1))
            days[d] = Math.Max(0m, Math.Round((decimal)(20 + 1.5 * (d.DayNumber - Start.DayNumber) + 4 * noise()), 4));
        return days;
    }

    private static MonthForecast ForecastOf(string date, IReadOnlyDictionary<DateOnly, decimal> days)
    {
        var day = Date(date);
        return Assert.Single(Compute(date, Daily("all", "*", Start, day, d => days[d])).Forecasts);
    }

    [Fact]
    public void The_interval_contains_the_months_real_total_on_a_noisy_linear_series()
    {
        var days = Linear(seed: 7, to: Date("2026-11-30"));
        var truth = days.Where(d => d.Key.Month == 11).Sum(d => d.Value);

        var forecast = ForecastOf("2026-11-12", days);

        Assert.Equal(ForecastMethod.LinearTrend, forecast.Method);
        Assert.Equal((12, 30, 14), (forecast.DaysElapsed, forecast.DaysInMonth, forecast.FitDays));
        Assert.Equal(days.Where(d => d.Key.Month == 11 && d.Key.Day <= 12).Sum(d => d.Value), forecast.MonthToDateUsd);
        Assert.InRange(truth, forecast.LowerUsd!.Value, forecast.UpperUsd!.Value);
        Assert.InRange((double)forecast.DailyChangeUsd, 1.0, 2.0);
        // the point forecast is close too: within 5 % of the truth
        Assert.InRange((double)Math.Abs(forecast.ProjectedUsd - truth), 0, 0.05 * (double)truth);
    }

    /// <summary>Daily spend around $100 with normal noise of sd 15 and no trend.</summary>
    private static Dictionary<DateOnly, decimal> Flat(int seed)
    {
        var noise = Normal(seed);
        return Enumerable.Range(0, 61).ToDictionary(i => Start.AddDays(i), _ => Math.Round((decimal)(100 + 15 * noise()), 2));
    }

    [Theory]
    [InlineData("linear")]
    [InlineData("flat")]
    public void Over_many_noisy_series_the_90_percent_interval_holds_the_months_total_about_90_percent_of_the_time(string shape)
    {
        var hits = 0;
        const int runs = 200;
        for (var seed = 1; seed <= runs; seed++)
        {
            var days = shape == "linear" ? Linear(seed, Date("2026-11-30")) : Flat(seed);
            var truth = days.Where(d => d.Key.Month == 11).Sum(d => d.Value);
            var forecast = ForecastOf("2026-11-10", days);
            if (truth >= forecast.LowerUsd && truth <= forecast.UpperUsd) hits++;
        }

        Assert.InRange(hits / (double)runs, 0.84, 0.96);
    }

    [Fact]
    public void A_noiseless_line_is_projected_exactly_with_no_spread()
    {
        var forecast = ForecastOf("2026-11-10", Enumerable.Range(0, 70).ToDictionary(i => Start.AddDays(i), i => 10m + 2m * i));
        // Nov 1..30 is t = 31..60: 30 × 10 + 2 × (31 + … + 60)
        var truth = 300m + 2m * Enumerable.Range(31, 30).Sum();
        Assert.Equal(ForecastMethod.LinearTrend, forecast.Method);
        Assert.Equal((double)truth, (double)forecast.ProjectedUsd, 3);
        Assert.Equal((double)forecast.ProjectedUsd, (double)forecast.LowerUsd!, 3);
        Assert.Equal((double)forecast.ProjectedUsd, (double)forecast.UpperUsd!, 3);
    }

    [Fact]
    public void A_flat_noisy_series_is_projected_at_its_run_rate_and_the_interval_narrows_as_the_month_passes()
    {
        var days = Flat(11);
        var widths = new List<decimal>();
        foreach (var date in new[] { "2026-11-05", "2026-11-15", "2026-11-25" })
        {
            var forecast = ForecastOf(date, days);
            Assert.Equal(ForecastMethod.RunRate, forecast.Method);
            Assert.Equal(0, forecast.DailyChangeUsd);
            Assert.Equal((double)(forecast.MonthToDateUsd + forecast.RunRateUsdPerDay * (30 - forecast.DaysElapsed)), (double)forecast.ProjectedUsd, 3);
            widths.Add(forecast.UpperUsd!.Value - forecast.LowerUsd!.Value);
        }

        Assert.True(widths[0] > widths[1] && widths[1] > widths[2], string.Join(", ", widths));
    }

    [Fact]
    public void On_the_last_day_the_month_is_complete_and_its_total_is_the_forecast()
    {
        var days = Linear(3, Date("2026-11-30"));
        var forecast = ForecastOf("2026-11-30", days);
        var total = days.Where(d => d.Key.Month == 11).Sum(d => d.Value);
        Assert.Equal(ForecastMethod.Complete, forecast.Method);
        Assert.Equal((total, total, total, total), (forecast.MonthToDateUsd, forecast.ProjectedUsd, forecast.LowerUsd, forecast.UpperUsd));
    }

    [Theory]
    [InlineData("2028-02-28", 29, 290)] // a leap year's February has a day left
    [InlineData("2028-02-29", 29, 290)]
    [InlineData("2027-02-28", 28, 280)]
    [InlineData("2028-03-01", 31, 310)] // the first day of a month is projected from the days before it
    public void Leap_days_and_month_starts_count_the_real_length_of_the_month(string date, int daysInMonth, decimal projected)
    {
        var day = Date(date);
        var forecast = Assert.Single(Compute(date, Daily("team", "t", day.AddDays(-60), day, _ => 10m)).Forecasts);
        Assert.Equal(daysInMonth, forecast.DaysInMonth);
        Assert.Equal(projected, forecast.ProjectedUsd);
        Assert.Equal(14, forecast.FitDays);
        Assert.Equal(10m, forecast.RunRateUsdPerDay);
    }

    [Fact]
    public void A_scope_seen_for_one_day_is_projected_at_that_days_rate_without_an_interval()
    {
        var forecast = Assert.Single(Compute("2026-11-10", [Row("key", "k1", Date("2026-11-10"), 6m)]).Forecasts);
        Assert.Equal((ForecastMethod.RunRate, 1, 6m + 6m * 20), (forecast.Method, forecast.FitDays, forecast.ProjectedUsd));
        Assert.Null(forecast.LowerUsd);
        Assert.Null(forecast.UpperUsd);
    }

    [Fact]
    public void A_falling_line_stops_at_zero_rather_than_projecting_refunds()
    {
        // $60 falling by $5 a day: the line is $15 on Nov 10 and reaches 0 three days later; nothing after that counts
        var days = Enumerable.Range(0, 10).ToDictionary(i => Date("2026-11-01").AddDays(i), i => 60m - 5m * i);
        var forecast = Assert.Single(Compute("2026-11-10", Daily("all", "*", Date("2026-11-01"), Date("2026-11-10"), d => days[d])).Forecasts);
        Assert.Equal(ForecastMethod.LinearTrend, forecast.Method);
        // Nov 1–10: 60 + 55 + … + 15 = 375; then the area under the line's positive part, ∫ 15 − 5x over [½, 3] = 15.625
        Assert.Equal(375m, forecast.MonthToDateUsd);
        Assert.Equal(375 + 15.625, (double)forecast.ProjectedUsd, 6);
        Assert.True(forecast.LowerUsd >= forecast.MonthToDateUsd);
    }

    [Fact]
    public void The_line_integrates_the_positive_part_only()
    {
        Assert.Equal(2.0, SpendModel.PositiveIntegral(2, 0, 0, 1));
        Assert.Equal(0.0, SpendModel.PositiveIntegral(-2, 0, 0, 1));
        // 1 - x over [0, 3]: only [0, 1] counts, area 1/2
        Assert.Equal(0.5, SpendModel.PositiveIntegral(1, -1, 0, 3), 12);
        // -1 + x over [0, 3]: only [1, 3], area 2
        Assert.Equal(2.0, SpendModel.PositiveIntegral(-1, 1, 0, 3), 12);
        // the expansion beyond the table meets the table's last entries
        Assert.Equal(1.697, SpendModel.StudentT(30, SpendModel.TwoSided90));
        Assert.Equal(1.697, SpendModel.StudentT(31, SpendModel.TwoSided90), 2);
        Assert.InRange(SpendModel.StudentT(31, SpendModel.TwoSided99), 2.742, 2.746);
        Assert.InRange(SpendModel.StudentT(120, SpendModel.TwoSided90), 1.657, 1.659);
        Assert.InRange(SpendModel.StudentT(120, SpendModel.TwoSided99), 2.616, 2.619);
    }

    [Fact]
    public void Every_scope_of_a_dimension_gets_a_forecast_up_to_the_limit_dearest_first()
    {
        var rows = Enumerable.Range(1, 5).SelectMany(i => Daily("user", "u" + i, Date("2026-11-01"), Date("2026-11-10"), _ => i));
        var snapshot = Compute("2026-11-10", rows, options: new AnalyticsOptions { MaxScopesPerDimension = 3 });
        Assert.Equal(["u3", "u4", "u5"], snapshot.Forecasts.Select(f => f.Value));
        Assert.Equal(new DimensionCoverage(UsageDimensions.User, 5, 3), Assert.Single(snapshot.Coverage));
    }
}
