using Gateway.Core.Analytics;
using Gateway.Core.Errors;
using static Gateway.Core.Tests.Analytics.AnalyticsData;

namespace Gateway.Core.Tests.Analytics;

/// <summary>The analytics route's parameters: a 400 naming the parameter for anything wrong.</summary>
public sealed class AnalyticsQueryTests
{
    private static readonly DateTimeOffset Now = Instant("2026-12-01T10:00:00Z");

    private static AnalyticsQuery Parse(params (string Name, string Value)[] values) =>
        AnalyticsQuery.Parse(n => values.FirstOrDefault(v => v.Name == n).Value, Now);

    private static GatewayError Reject(params (string Name, string Value)[] values) => Assert.Throws<GatewayException>(() => Parse(values)).Error;

    [Fact]
    public void Without_parameters_it_is_yesterday_for_everything()
    {
        Assert.Equal(new AnalyticsQuery(Date("2026-11-30"), null, false), Parse());
    }

    [Fact]
    public void A_date_a_scope_and_refresh_are_read()
    {
        Assert.Equal(new AnalyticsQuery(Date("2028-02-29"), new AnalyticsScope("team", "search"), true),
            AnalyticsQuery.Parse(n => n switch { "date" => "2028-02-29", "scope" => "team:search", "refresh" => "true", _ => null }, Instant("2028-03-10T00:00:00Z")));
    }

    [Theory]
    [InlineData("2026-12-01", "complete UTC day")] // today is not over
    [InlineData("2026-12-02", "complete UTC day")]
    [InlineData("2024-09-01", "800 days")]
    [InlineData("2026-11-31", "yyyy-MM-dd")]
    [InlineData("2027-02-29", "yyyy-MM-dd")]
    [InlineData("30/11/2026", "yyyy-MM-dd")]
    [InlineData("2026-11-30T00:00:00Z", "yyyy-MM-dd")]
    public void Bad_dates_are_refused_naming_the_date(string date, string says)
    {
        var error = Reject(("date", date));
        Assert.Equal((400, "date"), (error.Status, error.Param));
        Assert.Contains(says, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("scope", "teams")]
    [InlineData("scope", "team:")]
    [InlineData("refresh", "yes")]
    public void Bad_scopes_and_flags_are_refused_naming_them(string name, string value)
    {
        var error = Reject((name, value));
        Assert.Equal((400, name), (error.Status, error.Param));
    }
}
