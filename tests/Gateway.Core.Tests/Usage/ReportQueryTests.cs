using Gateway.Core.Errors;
using Gateway.Core.Usage;

namespace Gateway.Core.Tests.Usage;

/// <summary>Report queries: ISO 8601 times only, and no series too long to answer at once.</summary>
public sealed class ReportQueryTests
{
    private static UsageReportQuery Parse(params (string Name, string Value)[] values) =>
        UsageReportQuery.Parse(n => values.FirstOrDefault(v => v.Name == n).Value, c => c == "USD");

    private static GatewayError Reject(params (string Name, string Value)[] values) => Assert.Throws<GatewayException>(() => Parse(values)).Error;

    [Theory]
    [InlineData("2026-11-01")]
    [InlineData("2026-11-01T00:00Z")]
    [InlineData("2026-11-01T00:00:00Z")]
    [InlineData("2026-11-01T01:00:00+01:00")]
    [InlineData("2026-11-01T00:00:00.000Z")]
    [InlineData("2026-11-01T00:00:00")]
    public void Iso_8601_times_are_accepted(string from)
    {
        var q = Parse(("from", from), ("to", "2026-11-02T00:00:00Z"));
        Assert.Equal(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero), q.From);
    }

    [Theory]
    [InlineData("11/01/2026")]
    [InlineData("Nov 1 2026")]
    [InlineData("1 November 2026")]
    [InlineData("2026-11-01 00:00:00")]
    [InlineData("1762000000")]
    public void Other_time_formats_are_refused(string from)
    {
        var error = Reject(("from", from), ("to", "2026-11-02T00:00:00Z"));
        Assert.Equal(400, error.Status);
        Assert.Equal("from", error.Param);
        Assert.Contains("ISO 8601", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_hourly_series_for_every_user_over_two_years_is_refused_with_what_to_ask_instead()
    {
        var error = Reject(("from", "2024-11-01"), ("to", "2026-11-01"), ("interval", "hour"), ("group_by", "user"));
        Assert.Equal(400, error.Status);
        Assert.Equal("interval", error.Param);
        Assert.Equal("report_too_large", error.Code);
        Assert.Contains("interval=day", error.Message, StringComparison.Ordinal);
        Assert.Contains("value=", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Hourly_series_stay_within_31_days_or_7_for_every_group()
    {
        Assert.Equal(ReportInterval.Hour, Parse(("from", "2026-10-01"), ("to", "2026-11-01"), ("interval", "hour")).Interval);
        Assert.Equal("report_too_large", Reject(("from", "2026-09-01"), ("to", "2026-11-01"), ("interval", "hour")).Code);
        Assert.Equal("user", Parse(("from", "2026-10-25"), ("to", "2026-11-01"), ("interval", "hour"), ("group_by", "user")).GroupBy);
        Assert.Equal("report_too_large", Reject(("from", "2026-10-01"), ("to", "2026-11-01"), ("interval", "hour"), ("group_by", "user")).Code);
        // one user's hourly series over a month is fine; daily series for everyone over two years too
        Assert.Equal("alice", Parse(("from", "2026-10-01"), ("to", "2026-11-01"), ("interval", "hour"), ("group_by", "user"), ("value", "alice")).Value);
        Assert.Equal(ReportInterval.Day, Parse(("from", "2024-11-01"), ("to", "2026-11-01"), ("interval", "day"), ("group_by", "user")).Interval);
    }
}
