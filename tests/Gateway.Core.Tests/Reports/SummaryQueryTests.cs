using Gateway.Core.Analytics;
using Gateway.Core.Errors;
using Gateway.Core.Reports;
using static Gateway.Testing.Reports.SummaryData;

namespace Gateway.Core.Tests.Reports;

/// <summary>The summary route's parameters: whole UTC days up to today, one scope, a format; defaults; a 400 naming what is wrong.</summary>
public sealed class SummaryQueryTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 10, 35, 0, TimeSpan.Zero);

    private static SummaryQuery Parse(DateTimeOffset now, params (string Name, string? Value)[] values) =>
        SummaryQuery.Parse(n => values.FirstOrDefault(v => v.Name == n).Value, now);

    private static SummaryQuery Parse(params (string Name, string? Value)[] values) => Parse(Now, values);

    [Fact]
    public void Without_a_range_it_is_the_month_to_yesterday_or_the_last_month_on_the_first()
    {
        Assert.Equal(new SummaryQuery(November, Date("2026-11-25"), AnalyticsScope.All, SummaryFormat.Json), Parse());
        var onTheFirst = Parse(new DateTimeOffset(2026, 12, 1, 0, 30, 0, TimeSpan.Zero));
        Assert.Equal((November, December), (onTheFirst.From, onTheFirst.To));
        var january = Parse(new DateTimeOffset(2027, 1, 1, 9, 0, 0, TimeSpan.Zero));
        Assert.Equal((December, Date("2027-01-01"), 31), (january.From, january.To, january.Days));
    }

    [Fact]
    public void From_alone_runs_to_today_and_to_alone_starts_on_the_first_of_its_month()
    {
        Assert.Equal((Date("2026-11-10"), Date("2026-11-25")), Parse(("from", "2026-11-10")).Range());
        Assert.Equal((Date("2026-10-01"), November), Parse(("to", "2026-11-01")).Range());
        Assert.Equal((November, Date("2026-11-16")), Parse(("to", "2026-11-16")).Range());
    }

    [Fact]
    public void Midnights_in_iso_8601_are_days_and_an_empty_range_is_accepted()
    {
        var q = Parse(("from", "2026-11-01T00:00:00Z"), ("to", "2026-11-02T01:00:00+01:00"));
        Assert.Equal((November, Date("2026-11-02")), (q.From, q.To));
        var empty = Parse(("from", "2026-11-10"), ("to", "2026-11-10"));
        Assert.True(empty.IsEmpty);
        Assert.Equal(0, empty.Days);
        Assert.Equal(366, Parse(("from", "2025-11-24"), ("to", "2026-11-25")).Days);
    }

    [Fact]
    public void Scope_and_format_are_read()
    {
        var q = Parse(("scope", "team:search"), ("format", "pdf"));
        Assert.Equal((new AnalyticsScope("team", "search"), SummaryFormat.Pdf), (q.Scope, q.Format));
        Assert.Equal(AnalyticsScope.All, Parse(("scope", "all")).Scope);
        Assert.Equal(new AnalyticsScope("tag", "env=prod"), Parse(("scope", "tag:env=prod")).Scope);
        Assert.Equal(SummaryFormat.Csv, Parse(("format", "csv")).Format);
        Assert.Equal(SummaryFormat.Json, Parse(("format", "json")).Format);
    }

    [Theory]
    [InlineData("from", "yesterday", "from")]
    [InlineData("from", "2026-11-01T10:00:00Z", "from")]
    [InlineData("from", "2026-11-26", "from")]
    [InlineData("from", "2024-09-01", "from")]
    [InlineData("to", "2026-11-32", "to")]
    [InlineData("to", "2026-11-26", "to")]
    [InlineData("to", "2026-11-25T12:00:00Z", "to")]
    [InlineData("scope", "squad:search", "scope")]
    [InlineData("scope", "team", "scope")]
    [InlineData("scope", "team:", "scope")]
    [InlineData("format", "xlsx", "format")]
    [InlineData("format", "PDF ", "format")]
    public void A_bad_parameter_is_a_400_naming_it(string name, string value, string param)
    {
        var error = Assert.Throws<GatewayException>(() => Parse((name, value))).Error;
        Assert.Equal((400, param), (error.Status, error.Param));
    }

    [Fact]
    public void A_range_that_ends_before_it_starts_or_is_longer_than_a_year_is_a_400_naming_to()
    {
        var backwards = Assert.Throws<GatewayException>(() => Parse(("from", "2026-11-10"), ("to", "2026-11-09"))).Error;
        Assert.Equal((400, "to"), (backwards.Status, backwards.Param));
        var tooLong = Assert.Throws<GatewayException>(() => Parse(("from", "2025-11-23"), ("to", "2026-11-25"))).Error;
        Assert.Equal((400, "to", "report_too_large"), (tooLong.Status, tooLong.Param, tooLong.Code));
    }

    [Fact]
    public void The_file_name_holds_the_scope_and_range_in_safe_characters()
    {
        Assert.Equal("executive-summary-2026-11-01-2026-12-01.pdf", new SummaryQuery(November, December, AnalyticsScope.All, SummaryFormat.Pdf).FileName("pdf"));
        Assert.Equal("executive-summary-tag-env-prod--x--2026-11-01-2026-12-01.csv",
            new SummaryQuery(November, December, new AnalyticsScope("tag", "env=prod\";x\r"), SummaryFormat.Csv).FileName("csv"));
    }
}

internal static class QueryTestExtensions
{
    public static (DateOnly From, DateOnly To) Range(this SummaryQuery q) => (q.From, q.To);
}
