using Gateway.Core.Analytics;
using Gateway.Core.Budgets;
using Gateway.Core.Usage;
using static Gateway.Core.Tests.Analytics.AnalyticsData;

namespace Gateway.Core.Tests.Analytics;

/// <summary>Budgets: the day each runs out at the current rate and whether its period is forecast to overrun.</summary>
public sealed class BudgetForecastTests
{
    private static BudgetDefinition Monthly(decimal limit, string timeZone = "UTC") =>
        new() { Scope = BudgetScope.ForTeam("search"), LimitUsd = limit, Period = BudgetPeriodKind.Monthly, TimeZone = timeZone };

    /// <summary>team=search spends exactly $10 every day from Oct 1 to Nov 10.</summary>
    private static IEnumerable<RollupRow> TenADay => Daily("team", "search", Date("2026-10-01"), Date("2026-11-10"), _ => 10m);

    private static BudgetForecast ForecastOf(BudgetPeriodSpend budget) => Assert.Single(Compute("2026-11-10", TenADay, [budget]).Budgets);

    [Fact]
    public void At_a_constant_rate_the_run_out_date_is_exact()
    {
        // $100 of $250 spent by the end of Nov 10; $150 left at $10 a day lasts exactly 15 days
        var forecast = ForecastOf(new BudgetPeriodSpend(Monthly(250m), Instant("2026-11-01T00:00:00Z"), Instant("2026-12-01T00:00:00Z"), 100m));

        Assert.Equal(("team:search", "team", "search"), (forecast.Scope, forecast.Dimension, forecast.Value));
        Assert.Equal(10m, forecast.DailyRateUsd);
        Assert.Equal(150m, forecast.RemainingUsd);
        Assert.Equal(Instant("2026-11-26T00:00:00Z"), forecast.RunsOutAt);
        // exhausted at midnight: Nov 25 was the last day with headroom
        Assert.Equal(Date("2026-11-25"), forecast.RunsOutOn);
        // 20 more days at $10 against a $250 limit
        Assert.Equal((300m, 300m, 300m), (forecast.ProjectedUsd, forecast.LowerUsd, forecast.UpperUsd));
        Assert.Equal(BudgetRisk.Likely, forecast.Risk);
        Assert.True(forecast.AtRisk);
        Assert.Equal(Instant("2026-12-01T00:00:00Z"), forecast.HorizonEnd);
        Assert.Equal("team:search is projected to spend $300 by 2026-12-01 (90% interval $300–$300) against its $250 monthly limit; at $10.00 a day it runs out on 2026-11-25",
            AnalyticsAlerts.Reason(forecast));
    }

    [Fact]
    public void A_fraction_of_a_day_runs_out_within_the_day()
    {
        var forecast = ForecastOf(new BudgetPeriodSpend(Monthly(255m), Instant("2026-11-01T00:00:00Z"), Instant("2026-12-01T00:00:00Z"), 100m));
        Assert.Equal(Instant("2026-11-26T12:00:00Z"), forecast.RunsOutAt);
        Assert.Equal(Date("2026-11-26"), forecast.RunsOutOn);
    }

    [Fact]
    public void The_run_out_day_is_the_budgets_own_calendar_day_and_its_period_ends_at_its_midnight()
    {
        // Berlin's November runs from Oct 31 23:00 UTC to Nov 30 23:00 UTC
        var forecast = ForecastOf(new BudgetPeriodSpend(Monthly(250m, "Europe/Berlin"), Instant("2026-10-31T23:00:00Z"), Instant("2026-11-30T23:00:00Z"), 100m));
        Assert.Equal(Instant("2026-11-26T00:00:00Z"), forecast.RunsOutAt);
        // 01:00 in Berlin: the 26th still had an hour of headroom there
        Assert.Equal(Date("2026-11-26"), forecast.RunsOutOn);
        Assert.Equal(100 + 10 * (19 + 23 / 24.0), (double)forecast.ProjectedUsd, 5);
    }

    [Fact]
    public void A_budget_that_lasts_its_period_has_no_run_out_date_and_no_risk()
    {
        var forecast = ForecastOf(new BudgetPeriodSpend(Monthly(1000m), Instant("2026-11-01T00:00:00Z"), Instant("2026-12-01T00:00:00Z"), 100m));
        Assert.Null(forecast.RunsOutAt);
        Assert.Null(forecast.RunsOutOn);
        Assert.Equal(BudgetRisk.None, forecast.Risk);
        Assert.False(forecast.AtRisk);
    }

    [Fact]
    public void A_budget_already_spent_is_exceeded()
    {
        var forecast = ForecastOf(new BudgetPeriodSpend(Monthly(250m), Instant("2026-11-01T00:00:00Z"), Instant("2026-12-01T00:00:00Z"), 260m));
        Assert.Equal(BudgetRisk.Exceeded, forecast.Risk);
        Assert.Equal(-10m, forecast.RemainingUsd);
        Assert.Null(forecast.RunsOutAt);
    }

    [Fact]
    public void Only_the_interval_above_the_limit_is_a_possible_overrun()
    {
        // $7 and $13 on alternate days: $10 a day projects $300, under the $320 limit; the spread puts the upper end over it
        var rows = Daily("team", "search", Date("2026-10-28"), Date("2026-11-10"), d => d.DayNumber % 2 == 0 ? 7m : 13m).ToList();
        var forecast = Assert.Single(Compute("2026-11-10", rows,
            [new BudgetPeriodSpend(Monthly(320m), Instant("2026-11-01T00:00:00Z"), Instant("2026-12-01T00:00:00Z"), 100m)]).Budgets);
        Assert.Equal((ForecastMethod.RunRate, 300m), (forecast.Method, forecast.ProjectedUsd));
        Assert.True(forecast.UpperUsd > 320m, $"{forecast.UpperUsd}");
        Assert.Equal(BudgetRisk.Possible, forecast.Risk);
        Assert.True(forecast.AtRisk);
    }

    [Fact]
    public void A_lifetime_budget_runs_out_whenever_it_does_and_is_projected_thirty_days()
    {
        var lifetime = new BudgetDefinition { Scope = BudgetScope.ForTeam("search"), LimitUsd = 1000m, Period = BudgetPeriodKind.Lifetime };
        // Oct 1 to Nov 10 is 41 days: $410 spent, $590 left lasts 59 days
        var forecast = ForecastOf(new BudgetPeriodSpend(lifetime, Instant("2026-10-01T00:00:00Z"), DateTimeOffset.MaxValue, 410m));
        Assert.Null(forecast.PeriodEnd);
        Assert.Equal(Instant("2027-01-09T00:00:00Z"), forecast.RunsOutAt);
        Assert.Equal(Instant("2026-12-11T00:00:00Z"), forecast.HorizonEnd);
        Assert.Equal(710m, forecast.ProjectedUsd);
        Assert.Equal(BudgetRisk.None, forecast.Risk);
    }

    [Fact]
    public void A_budget_on_a_scope_without_traffic_stands_still()
    {
        var idle = new BudgetDefinition { Scope = BudgetScope.ForTag("env", "prod"), LimitUsd = 50m };
        var forecast = ForecastOf(new BudgetPeriodSpend(idle, Instant("2026-11-01T00:00:00Z"), Instant("2026-12-01T00:00:00Z"), 0m));
        Assert.Equal(("tag", "env=prod"), (forecast.Dimension, forecast.Value));
        Assert.Equal((0m, 0m, (DateTimeOffset?)null, BudgetRisk.None), (forecast.DailyRateUsd, forecast.ProjectedUsd, forecast.RunsOutAt, forecast.Risk));
    }

    [Fact]
    public async Task The_period_spend_comes_from_the_rollups_with_hours_at_a_time_zones_edges()
    {
        // a Berlin budget's November starts at 23:00 UTC on Oct 31: that hour counts, the one before does not
        var rows = TenADay.Concat(
        [
            Row("team", "search", Date("2026-10-31"), 4m, granularity: Granularity.Hour, hour: 23),
            Row("team", "search", Date("2026-10-31"), 6m, granularity: Granularity.Hour, hour: 22),
        ]);
        var store = new MemoryRollupStore(rows);
        var budgets = new FixedBudgets(new ConfiguredBudget(Monthly(250m, "Europe/Berlin"), Instant("2026-01-01T00:00:00Z")));
        var analytics = new SpendAnalytics(store, budgets, new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Instant("2026-11-11T00:30:00Z")), new AnalyticsOptions());

        var snapshot = await analytics.ComputeAsync(Date("2026-11-10"), null, default);

        var forecast = Assert.Single(snapshot.Budgets);
        Assert.Equal((Instant("2026-10-31T23:00:00Z"), (DateTimeOffset?)Instant("2026-11-30T23:00:00Z")), (forecast.PeriodStart, forecast.PeriodEnd));
        Assert.Equal(4m + 100m, forecast.SpentUsd);
        Assert.Equal(Instant("2026-11-11T00:30:00Z"), snapshot.ComputedAt);
    }

    internal sealed class FixedBudgets(params ConfiguredBudget[] budgets) : IBudgetSource
    {
        public Task<IReadOnlyList<ConfiguredBudget>> ListAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<ConfiguredBudget>>(budgets);
    }
}
