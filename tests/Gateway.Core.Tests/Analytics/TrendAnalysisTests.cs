using Gateway.Core.Analytics;
using static Gateway.Core.Tests.Analytics.AnalyticsData;

namespace Gateway.Core.Tests.Analytics;

/// <summary>Day-over-day, week-over-week and month-over-month growth, with the month's edges and leap days.</summary>
public sealed class TrendAnalysisTests
{
    private static ScopeTrend TrendOf(string date, IEnumerable<Gateway.Core.Usage.RollupRow> rows) =>
        Assert.Single(Compute(date, rows).Trends);

    [Fact]
    public void Growth_is_the_absolute_and_percentage_change_over_each_previous_period()
    {
        // $10 a day through October, then $1 more each day of November: Nov 14 is $24, Nov 13 $23
        var rows = Daily("team", "search", Date("2026-10-01"), Date("2026-11-14"), d => d.Month == 10 ? 10m : 10m + d.Day, requests: d => d.Day * 10L);
        var trend = TrendOf("2026-11-14", rows);

        Assert.Equal(("team", "search"), (trend.Dimension, trend.Value));
        Assert.Equal(new MetricChange(24m, 23m, 1m, 4.35), trend.Day.CostUsd);
        Assert.Equal(new MetricChange(140m, 130m, 10m, 7.69), trend.Day.Requests);
        // Nov 8–14 (18…24 = 147) against Nov 1–7 (11…17 = 98)
        Assert.Equal((Date("2026-11-08"), Date("2026-11-14"), Date("2026-11-01"), Date("2026-11-07")), (trend.Week.From, trend.Week.To, trend.Week.PreviousFrom, trend.Week.PreviousTo));
        Assert.Equal(new MetricChange(147m, 98m, 49m, 50), trend.Week.CostUsd);
        // Nov 1–14 (11…24 = 245) against Oct 1–14 (140)
        Assert.Equal((Date("2026-11-01"), Date("2026-11-14"), Date("2026-10-01"), Date("2026-10-14")), (trend.Month.From, trend.Month.To, trend.Month.PreviousFrom, trend.Month.PreviousTo));
        Assert.Equal(new MetricChange(245m, 140m, 105m, 75), trend.Month.CostUsd);
        Assert.Equal(1000m, trend.Day.Tokens.Current);
    }

    [Fact]
    public void A_previous_period_without_traffic_gives_null_changes_and_a_free_one_a_null_percentage()
    {
        var rows = Daily("team", "new", Date("2026-11-10"), Date("2026-11-14"), _ => 5m)
            .Concat(Daily("team", "free", Date("2026-11-01"), Date("2026-11-14"), d => d.Day == 14 ? 3m : 0m));
        var snapshot = Compute("2026-11-14", rows);

        var fresh = snapshot.Trends.Single(t => t.Value == "new");
        Assert.Equal(new MetricChange(5m, 5m, 0m, 0), fresh.Day.CostUsd);
        Assert.Equal(new MetricChange(25m, null, null, null), fresh.Week.CostUsd);
        Assert.Equal(new MetricChange(25m, null, null, null), fresh.Month.CostUsd);
        Assert.Equal(new MetricChange(500m, null, null, null), fresh.Month.Requests);

        // the free model had traffic the day before, at no cost: the change is known, the percentage is not
        var free = snapshot.Trends.Single(t => t.Value == "free");
        Assert.Equal(new MetricChange(3m, 0m, 3m, null), free.Day.CostUsd);
        Assert.Equal(new MetricChange(100m, 100m, 0m, 0), free.Day.Requests);
    }

    [Theory]
    // the month to date against the same days of the previous month, clamped to its length
    [InlineData("2028-03-31", "2028-03-01", "2028-02-01", "2028-02-29")] // leap year: all of February's 29 days
    [InlineData("2027-03-31", "2027-03-01", "2027-02-01", "2027-02-28")]
    [InlineData("2027-03-29", "2027-03-01", "2027-02-01", "2027-02-28")]
    [InlineData("2028-02-29", "2028-02-01", "2028-01-01", "2028-01-29")] // the leap day itself
    [InlineData("2026-12-31", "2026-12-01", "2026-11-01", "2026-11-30")]
    [InlineData("2027-01-01", "2027-01-01", "2026-12-01", "2026-12-01")] // across the year
    public void Month_over_month_compares_like_days_across_month_and_year_edges(string date, string from, string previousFrom, string previousTo)
    {
        var day = Date(date);
        var rows = Daily("all", "*", day.AddDays(-80), day, _ => 1m);
        var month = TrendOf(date, rows).Month;
        Assert.Equal((Date(from), day, Date(previousFrom), Date(previousTo)), (month.From, month.To, month.PreviousFrom, month.PreviousTo));
        var days = day.DayNumber - Date(from).DayNumber + 1;
        var previousDays = Date(previousTo).DayNumber - Date(previousFrom).DayNumber + 1;
        Assert.Equal(new MetricChange(days, previousDays, days - previousDays, Math.Round((days - previousDays) * 100.0 / previousDays, 2)), month.CostUsd);
    }

    [Fact]
    public void A_week_spans_the_turn_of_the_year()
    {
        var rows = Daily("all", "*", Date("2026-12-01"), Date("2027-01-03"), d => d.Year == 2027 ? 2m : 1m);
        var week = TrendOf("2027-01-03", rows).Week;
        Assert.Equal((Date("2026-12-28"), Date("2027-01-03"), Date("2026-12-21"), Date("2026-12-27")), (week.From, week.To, week.PreviousFrom, week.PreviousTo));
        Assert.Equal(new MetricChange(4m + 6m, 7m, 3m, 42.86), week.CostUsd);
    }
}
