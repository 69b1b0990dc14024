using Gateway.Core.Analytics;
using static Gateway.Core.Tests.Analytics.AnalyticsData;

namespace Gateway.Core.Tests.Analytics;

/// <summary>Top-N by cost, tokens, mean latency and errors (count and rate), per dimension, for the day and the month to date.</summary>
public sealed class LeaderboardTests
{
    private static readonly DateOnly Day = Date("2026-11-10");

    [Fact]
    public void Each_ranking_orders_its_dimension_by_its_own_measure()
    {
        var rows = new[]
        {
            //                      cost  requests errors tokens  latency total
            Row("model", "big", Day, 90m, 100, 2, 50_000, 100 * 900),
            Row("model", "small", Day, 5m, 900, 90, 90_000, 900 * 200),
            Row("model", "slow", Day, 20m, 30, 0, 1_000, 30 * 4_000),
            // slowest and worst of all, but 5 requests: under the 20-request guard for latency and error rate
            Row("model", "rare", Day, 1m, 5, 4, 100, 5 * 9_000),
            Row("all", "*", Day, 116m, 1035, 96, 141_100, 0),
        };
        var top = Assert.Single(Compute("2026-11-10", rows).Top.Day);

        Assert.Equal("model", top.Dimension);
        Assert.Equal(["big", "slow", "small", "rare"], top.ByCost.Select(l => l.Value));
        Assert.Equal(["small", "big", "slow", "rare"], top.ByTokens.Select(l => l.Value));
        Assert.Equal(["slow", "big", "small"], top.ByLatency.Select(l => l.Value));
        Assert.Equal(["small", "rare", "big"], top.ByErrors.Select(l => l.Value));
        Assert.Equal(["small", "big"], top.ByErrorRate.Select(l => l.Value));
        var small = top.ByErrorRate[0];
        Assert.Equal(new Leader("small", 5m, 900, 90_000, 90, 0.1, 200), small);
    }

    [Fact]
    public void Lists_stop_at_n_and_the_month_to_date_sums_the_month()
    {
        var rows = Enumerable.Range(1, 15).SelectMany(i => Daily("user", $"u{i:00}", Date("2026-10-25"), Day, d => d.Month == 10 ? 100m : i));
        var snapshot = Compute("2026-11-10", rows, options: new AnalyticsOptions { TopN = 3 });
        var month = Assert.Single(snapshot.Top.MonthToDate);
        Assert.Equal(["u15", "u14", "u13"], month.ByCost.Select(l => l.Value));
        Assert.Equal(150m, month.ByCost[0].CostUsd);
        Assert.Equal(1000L, month.ByCost[0].Requests);
        Assert.Equal(15m, Assert.Single(snapshot.Top.Day).ByCost[0].CostUsd);
    }
}
