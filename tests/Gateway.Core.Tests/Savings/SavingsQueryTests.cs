using Gateway.Core.Errors;
using Gateway.Core.Savings;

namespace Gateway.Core.Tests.Savings;

/// <summary>The savings route's range: ISO 8601, at most a month of raw records, an empty range allowed.</summary>
public sealed class SavingsQueryTests
{
    private static SavingsQuery Parse(params (string Name, string Value)[] values) =>
        SavingsQuery.Parse(n => values.FirstOrDefault(v => v.Name == n).Value, new SavingsOptions());

    [Theory]
    [InlineData(null, "2026-11-08", "from")]
    [InlineData("2026-11-01", null, "to")]
    [InlineData("yesterday", "2026-11-08", "from")]
    [InlineData("2026-11-01", "2026-11-08 10:00", "to")]
    [InlineData("2026-11-08", "2026-11-01", "to")]
    [InlineData("2026-10-01", "2026-11-08", "to")]
    public void A_bad_range_is_a_400_naming_the_parameter(string? from, string? to, string param)
    {
        var error = Assert.Throws<GatewayException>(() => Parse(("from", from!), ("to", to!))).Error;
        Assert.Equal((400, param), (error.Status, error.Param));
    }

    [Fact]
    public void A_range_longer_than_the_setting_says_what_to_ask_instead()
    {
        var error = Assert.Throws<GatewayException>(() => Parse(("from", "2026-10-01"), ("to", "2026-11-08"))).Error;
        Assert.Equal("report_too_large", error.Code);
        Assert.Contains("31 days", error.Message, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromDays(31), Parse(("from", "2026-10-01"), ("to", "2026-11-01")).To - Parse(("from", "2026-10-01"), ("to", "2026-11-01")).From);
    }

    [Fact]
    public void An_empty_range_and_offsets_are_accepted()
    {
        var empty = Parse(("from", "2026-11-01T10:00:00Z"), ("to", "2026-11-01T10:00:00Z"));
        Assert.Equal(empty.From, empty.To);
        var offset = Parse(("from", "2026-11-01T01:00:00+01:00"), ("to", "2026-11-02"));
        Assert.Equal(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero), offset.From);
    }
}
