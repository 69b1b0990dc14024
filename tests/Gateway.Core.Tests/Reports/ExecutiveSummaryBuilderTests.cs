using Gateway.Core.Analytics;
using Gateway.Core.Reports;
using Gateway.Core.Usage;
using static Gateway.Testing.Reports.SummaryData;

namespace Gateway.Core.Tests.Reports;

/// <summary>The summary of the fixed gateway of <see cref="Gateway.Testing.Reports.SummaryData"/>, built from its rows.</summary>
public sealed class ExecutiveSummaryBuilderTests
{
    private static readonly AnalyticsOptions Options = new();

    private static ExecutiveSummary Build(DateOnly from, DateOnly to, AnalyticsScope? scope = null) => ExecutiveSummaryBuilder.Build(Inputs(from, to, scope), Options);

    [Fact]
    public void A_month_has_its_spend_its_trend_against_the_30_days_before_and_a_point_a_day()
    {
        var s = NovemberSummary();

        Assert.Equal(("executive_summary", November, December, 30, "all"), (s.Object, s.From, s.To, s.Days, s.Scope));
        Assert.Equal(new SpendTotals(2170m, 18_900, 180, 18_900_000), s.Spend);
        Assert.Equal((Date("2026-10-02"), November), (s.Trend.PreviousFrom, s.Trend.PreviousTo));
        Assert.Equal(new SpendTotals(1590m, 18_900, 180, 18_900_000), s.Trend.Previous);
        Assert.Equal((580m, (double?)36.5), (s.Trend.ChangeUsd, s.Trend.ChangePct));
        Assert.Equal(30, s.Daily.Count);
        Assert.Equal(Enumerable.Range(0, 30).Select(i => November.AddDays(i)), s.Daily.Select(d => d.Date));
        Assert.Equal(new DailySpend(SpikeDay, 343m, 630), Assert.Single(s.Daily, d => d.CostUsd != 63m));
        Assert.Equal(s.Spend.CostUsd, s.Daily.Sum(d => d.CostUsd));
    }

    [Fact]
    public void Teams_models_and_keys_are_ranked_by_cost_with_their_share()
    {
        var s = NovemberSummary();

        Assert.Equal(["team", "model", "key"], s.TopConsumers.Select(t => t.Dimension));
        var teams = s.TopConsumers[0].Entries;
        Assert.Equal(
            [new Consumer(1, "search", 1200m, 55.3, 12_000, 12_000_000), new Consumer(2, "ads", 880m, 40.6, 6_000, 6_000_000), new Consumer(3, "(none)", 90m, 4.1, 900, 900_000)],
            teams);
        Assert.Equal(["gpt-4o", "gpt-4o-mini", "mock-1"], s.TopConsumers[1].Entries.Select(e => e.Value));
        var keys = s.TopConsumers[2].Entries;
        Assert.Equal(ExecutiveSummaryBuilder.TopConsumerCount, keys.Count);
        Assert.Equal(["key_search", "key_ads", "key_k1", "key_k2", "key_k3"], keys.Select(e => e.Value));
        Assert.Equal([1, 2, 3, 4, 5], keys.Select(e => e.Rank));
        Assert.Equal(1.4, keys[4].SharePct);
    }

    [Fact]
    public void Each_day_of_the_range_is_judged_against_its_own_baseline()
    {
        var s = NovemberSummary();

        // the $300 day of ads shows in its key, team and model (high: 15× their median) and in all traffic (medium: 5.4×)
        Assert.Equal(
            [("key", "key_ads", AnomalySeverity.High), ("team", "ads", AnomalySeverity.High), ("model", "gpt-4o-mini", AnomalySeverity.High), ("all", "*", AnomalySeverity.Medium)],
            s.Anomalies.Select(a => (a.Dimension, a.Value, a.Severity)));
        Assert.All(s.Anomalies, a => Assert.Equal((SpikeDay, AnomalyKind.Spend), (a.Date, a.Kind)));
        var ads = s.Anomalies[1];
        Assert.Equal((300m, 20m, (double?)15.0), (ads.Observed, ads.BaselineMedian, ads.Ratio));
        Assert.StartsWith("team=ads spent $300 on 2026-11-20, 15.0× its 14-day median of $20", ads.Reason, StringComparison.Ordinal);
        // October's $30 → November's $40 step of search is no spike, and neither is the day after the spike
        Assert.DoesNotContain(s.Anomalies, a => a.Value == "search" || a.Date != SpikeDay);
    }

    [Fact]
    public void The_forecast_and_the_budgets_at_risk_are_those_of_the_ranges_last_day()
    {
        var end = ExecutiveSummaryBuilder.Build(Inputs(November, December), Options);
        Assert.Equal(new MonthEndForecast(November, Date("2026-11-30"), 30, 30, 2170m, 2170m, 2170m, 2170m, end.Forecast!.RunRateUsdPerDay, ForecastMethod.Complete),
            end.Forecast);
        // on the month's last day the period in force at its end is December's: nothing spent yet, $40 a day passes $1,000 on the 25th
        var december = Assert.Single(end.BudgetsAtRisk);
        Assert.Equal(new BudgetAtRisk("team:search", Gateway.Core.Budgets.BudgetPeriodKind.Monthly, "UTC", StartOf(December), 1000m, 0m, 1240m, 1240m, StartOf(Date("2027-01-01")),
            Date("2026-12-25"), BudgetRisk.Likely), december);

        // as of the 24th: six days to project, with an interval around the projection; search will pass its $1,000 on the 25th
        var mid = Build(November, Date("2026-11-25"));
        var f = mid.Forecast!;
        Assert.Equal((November, Date("2026-11-24"), 24, 30), (f.Month, f.AsOf, f.DaysElapsed, f.DaysInMonth));
        Assert.Equal(24 * 63m + 280m, f.MonthToDateUsd);
        Assert.True(f.MonthToDateUsd < f.LowerUsd && f.LowerUsd < f.ProjectedUsd && f.ProjectedUsd < f.UpperUsd, $"{f.LowerUsd} < {f.ProjectedUsd} < {f.UpperUsd}");
        var likely = Assert.Single(mid.BudgetsAtRisk);
        Assert.Equal(("team:search", 960m, BudgetRisk.Likely, (DateOnly?)Date("2026-11-25")), (likely.Scope, likely.SpentUsd, likely.Risk, likely.RunsOutOn));
        Assert.Equal(1200m, likely.ProjectedUsd);
    }

    [Fact]
    public void Savings_give_the_total_on_the_table_and_the_largest_recommendations()
    {
        var s = NovemberSummary().Savings;

        Assert.Equal((250m, 6, 2170m, 18_900L), (s.TotalMonthlySavingUsd, s.Recommendations, s.MonthlySpendUsd, s.Requests));
        Assert.Equal(ExecutiveSummaryBuilder.TopRecommendationCount, s.Top.Count);
        Assert.Equal([100m, 50m, 40m, 30m, 20m], s.Top.Select(r => r.EstimatedMonthlySavingUsd));
        Assert.Equal(new SavingsItem("cheaper_model", "team:search", "Send short gpt-4o requests to gpt-4o-mini", 100m, "high",
            "Send short gpt-4o requests to gpt-4o-mini: the evidence."), s.Top[0]);
        Assert.Equal((StartOf(November), StartOf(December)), (s.From, s.To));
    }

    [Fact]
    public void One_scope_has_its_own_spend_forecast_budgets_and_anomalies_and_is_ranked_among_its_peers()
    {
        var search = Build(November, December, AnalyticsScope.Parse("team:search"));

        Assert.Equal("team:search", search.Scope);
        Assert.Equal(new SpendTotals(1200m, 12_000, 120, 12_000_000), search.Spend);
        Assert.Equal((900m, 300m, (double?)33.3), (search.Trend.Previous.CostUsd, search.Trend.ChangeUsd, search.Trend.ChangePct));
        Assert.All(search.Daily, d => Assert.Equal(40m, d.CostUsd));
        Assert.Equal((1200m, ForecastMethod.Complete), (search.Forecast!.ProjectedUsd, search.Forecast.Method));
        Assert.Equal("team:search", Assert.Single(search.BudgetsAtRisk).Scope);
        Assert.Empty(search.Anomalies);
        var peers = Assert.Single(search.TopConsumers);
        Assert.Equal("team", peers.Dimension);
        Assert.Equal(["search", "ads", "(none)"], peers.Entries.Select(e => e.Value));

        var ads = Build(November, December, AnalyticsScope.Parse("team:ads"));
        Assert.Equal((880m, 600m), (ads.Spend.CostUsd, ads.Trend.Previous.CostUsd));
        var spike = Assert.Single(ads.Anomalies);
        Assert.Equal(("team", "ads"), (spike.Dimension, spike.Value));
        Assert.Empty(ads.BudgetsAtRisk);
    }

    [Fact]
    public void A_scope_beyond_the_first_five_of_its_peers_is_listed_with_its_rank()
    {
        var rows = Rows();
        foreach (var big in Enumerable.Range(1, 6))
            rows.AddRange(Rows().Where(r => r.Dimension == "team" && r.Value == "search").Select(r => r with { Value = $"big{big}", Totals = new UsageAggregate { Requests = 10, CostUsd = 50m } }));

        var ads = ExecutiveSummaryBuilder.Build(Inputs(November, December, AnalyticsScope.Parse("team:ads"), rows), Options);

        var peers = Assert.Single(ads.TopConsumers).Entries;
        Assert.Equal([(1, "big1"), (2, "big2"), (3, "big3"), (4, "big4"), (5, "big5"), (8, "ads")], peers.Select(e => (e.Rank, e.Value)));
        Assert.Equal(880m, peers[^1].CostUsd);
        // for all traffic the lists stay at five
        Assert.All(ExecutiveSummaryBuilder.Build(Inputs(November, December, rows: rows), Options).TopConsumers, t => Assert.True(t.Entries.Count <= 5));
    }

    [Fact]
    public void An_empty_range_is_an_empty_summary()
    {
        var s = EmptySummary();

        Assert.Equal((November, November, 0, (DateOnly?)null), (s.From, s.To, s.Days, s.LastDay));
        Assert.Equal(SpendTotals.Zero, s.Spend);
        Assert.Equal(new SpendTrend(November, November, SpendTotals.Zero, 0m, null), s.Trend);
        Assert.Empty(s.Daily);
        Assert.Null(s.Forecast);
        Assert.Equal(["team", "model", "key"], s.TopConsumers.Select(t => t.Dimension));
        Assert.All(s.TopConsumers, t => Assert.Empty(t.Entries));
        Assert.Empty(s.BudgetsAtRisk);
        Assert.Empty(s.Anomalies);
        Assert.Equal((0m, 0, 0L), (s.Savings.TotalMonthlySavingUsd, s.Savings.Recommendations, s.Savings.Requests));
        Assert.Empty(s.Savings.Top);
    }

    [Fact]
    public void A_range_without_traffic_is_zeros_for_every_day()
    {
        var june = Date("2026-06-01");
        var rows = Rows();
        var s = ExecutiveSummaryBuilder.Build(Inputs(june, Date("2026-07-01"), rows: rows) with { Savings = Gateway.Core.Savings.SavingsReport.Empty(StartOf(june), StartOf(june)) }, Options);

        Assert.Equal((30, SpendTotals.Zero, SpendTotals.Zero, (double?)null), (s.Days, s.Spend, s.Trend.Previous, s.Trend.ChangePct));
        Assert.Equal(30, s.Daily.Count);
        Assert.All(s.Daily, d => Assert.Equal((0m, 0L), (d.CostUsd, d.Requests)));
        Assert.Null(s.Forecast);
        Assert.All(s.TopConsumers, t => Assert.Empty(t.Entries));
        Assert.Empty(s.BudgetsAtRisk);
        Assert.Empty(s.Anomalies);
    }

    [Fact]
    public void Reads_cover_the_previous_range_and_the_baselines_and_no_row_twice()
    {
        Assert.Equal(
            [
                new SummaryRead("all", null, Date("2026-10-02"), December), new SummaryRead("team", null, Date("2026-10-18"), December),
                new SummaryRead("model", null, Date("2026-10-18"), December), new SummaryRead("key", null, Date("2026-10-18"), December),
            ],
            ExecutiveSummaryBuilder.Reads(November, December, AnalyticsScope.All, Options));
        // a week reaches back as far as the 14-day baseline; one scope is read alone before the range, with its peers in it
        Assert.Equal(
            [new SummaryRead("team", "search", Date("2026-10-18"), November), new SummaryRead("team", null, November, Date("2026-11-08"))],
            ExecutiveSummaryBuilder.Reads(November, Date("2026-11-08"), AnalyticsScope.Parse("team:search"), Options));
        Assert.Empty(ExecutiveSummaryBuilder.Reads(November, November, AnalyticsScope.All, Options));

        var rows = Read(Rows(), November, December, AnalyticsScope.Parse("team:search"), Options);
        Assert.Equal(rows.Count, rows.Select(r => (r.Dimension, r.Value, r.Start)).Distinct().Count());
    }

    [Fact]
    public void A_snapshot_of_another_day_or_a_whole_dimension_is_refused()
    {
        var inputs = Inputs(November, December);
        Assert.Throws<ArgumentException>(() => ExecutiveSummaryBuilder.Build(inputs with { Snapshot = Snapshot(Rows(), Date("2026-11-29")) }, Options));
        Assert.Throws<ArgumentException>(() => ExecutiveSummaryBuilder.Build(inputs with { Scope = new AnalyticsScope(UsageDimensions.Team, null) }, Options));
    }
}
