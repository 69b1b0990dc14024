using FsCheck;
using FsCheck.Xunit;
using Gateway.Core.Usage;

namespace Gateway.Core.Tests.Usage;

public sealed class ReportPlanTests
{
    private static DateTimeOffset T(string s) => DateTimeOffset.Parse(s, System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void Whole_days_are_read_as_day_rows_and_edges_as_hours_and_five_minute_buckets()
    {
        var plan = ReportPlan.Cover(T("2026-01-01T22:35:00Z"), T("2026-01-05T01:10:00Z"));
        Assert.Equal(
            [
                (Granularity.FiveMinutes, T("2026-01-01T22:35:00Z"), T("2026-01-01T23:00:00Z")),
                (Granularity.Hour, T("2026-01-01T23:00:00Z"), T("2026-01-02T00:00:00Z")),
                (Granularity.Day, T("2026-01-02T00:00:00Z"), T("2026-01-05T00:00:00Z")),
                (Granularity.Hour, T("2026-01-05T00:00:00Z"), T("2026-01-05T01:00:00Z")),
                (Granularity.FiveMinutes, T("2026-01-05T01:00:00Z"), T("2026-01-05T01:10:00Z")),
            ],
            plan.Select(s => (s.Granularity, s.From, s.To)));
    }

    [Fact]
    public void A_year_is_one_month_segment_and_a_daily_series_one_day_segment()
    {
        var segment = Assert.Single(ReportPlan.Cover(T("2025-01-01T00:00:00Z"), T("2026-01-01T00:00:00Z")));
        Assert.Equal(Granularity.Month, segment.Granularity);
        Assert.Equal("202501", segment.FromKey);
        Assert.Equal("202601", segment.ToKey);
        var daily = Assert.Single(ReportPlan.Cover(T("2025-01-01T00:00:00Z"), T("2026-01-01T00:00:00Z"), Granularity.Day));
        Assert.Equal("20250101", daily.FromKey);
    }

    [Fact]
    public void Months_in_the_middle_days_at_the_month_edges()
    {
        var plan = ReportPlan.Cover(T("2025-01-30T00:00:00Z"), T("2025-04-02T00:00:00Z"));
        Assert.Equal(
            [
                (Granularity.Day, T("2025-01-30T00:00:00Z"), T("2025-02-01T00:00:00Z")),
                (Granularity.Month, T("2025-02-01T00:00:00Z"), T("2025-04-01T00:00:00Z")),
                (Granularity.Day, T("2025-04-01T00:00:00Z"), T("2025-04-02T00:00:00Z")),
            ],
            plan.Select(s => (s.Granularity, s.From, s.To)));
    }

    [Fact]
    public void Ranges_off_five_minute_boundaries_are_refused()
    {
        Assert.Throws<ArgumentException>(() => ReportPlan.Cover(T("2026-01-01T00:01:00Z"), T("2026-01-02T00:00:00Z")));
    }

    [Property(MaxTest = 300)]
    public bool Segments_tile_the_range_exactly_without_gaps_or_overlaps(PositiveInt startSlot, PositiveInt lengthSlots, bool hourly)
    {
        var from = T("2025-06-01T00:00:00Z") + TimeSpan.FromMinutes(5 * (startSlot.Get % 20_000));
        var to = from + TimeSpan.FromMinutes(5 * ((long)lengthSlots.Get * 37 % 200_000));
        var plan = ReportPlan.Cover(from, to, hourly ? Granularity.Hour : Granularity.Month);
        var cursor = from;
        foreach (var s in plan)
        {
            if (s.From != cursor || s.To <= s.From) return false;
            if (UsageBuckets.Floor(s.From, s.Granularity) != s.From || UsageBuckets.Floor(s.To, s.Granularity) != s.To) return false;
            if (hourly && s.Granularity is Granularity.Day or Granularity.Month) return false;
            cursor = s.To;
        }

        return cursor == (to > from ? to : from);
    }
}
