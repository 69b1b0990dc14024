using System.Text.Json.Nodes;
using Gateway.Core.Analytics;
using Gateway.Core.Budgets;
using Gateway.Core.Usage;
using Microsoft.Extensions.Time.Testing;
using static Gateway.Core.Tests.Analytics.AnalyticsData;

namespace Gateway.Core.Tests.Analytics;

/// <summary>The whole snapshot: empty data, JSON that round-trips, narrowing to a scope.</summary>
public sealed class AnalyticsSnapshotTests
{
    private static IEnumerable<RollupRow> Busy()
    {
        var rows = Daily("team", "search", Date("2026-10-01"), Date("2026-11-28"), d => d == Date("2026-11-28") ? 412m : 60m + d.Day % 7, _ => 1000, _ => 10).ToList();
        rows.AddRange(Daily("team", "ads", Date("2026-10-01"), Date("2026-11-28"), _ => 30m));
        rows.AddRange(rows.ToList().Select(r => r with { Dimension = UsageDimensions.All, Value = "*" }));
        return rows;
    }

    private static readonly BudgetPeriodSpend SearchBudget = new(new BudgetDefinition { Scope = BudgetScope.ForTeam("search"), LimitUsd = 2000m },
        Instant("2026-11-01T00:00:00Z"), Instant("2026-12-01T00:00:00Z"), 2100m);

    [Fact]
    public void No_data_is_an_empty_snapshot_not_an_error()
    {
        var snapshot = Compute("2026-11-28", []);
        Assert.Empty(snapshot.Trends);
        Assert.Empty(snapshot.Forecasts);
        Assert.Empty(snapshot.Anomalies);
        Assert.Empty(snapshot.Budgets);
        Assert.Empty(snapshot.Coverage);
        Assert.Empty(snapshot.Top.Day);
        Assert.Empty(snapshot.Top.MonthToDate);
        Assert.Equal(Instant("2026-11-29T00:00:00Z"), snapshot.AsOf);
    }

    [Fact]
    public async Task No_data_in_the_store_is_an_empty_snapshot_and_rows_after_the_date_are_not_read()
    {
        var store = new MemoryRollupStore([Row("all", "*", Date("2026-11-29"), 5m)]);
        var analytics = new SpendAnalytics(store, null, new FakeTimeProvider(Instant("2026-12-01T00:00:00Z")), new AnalyticsOptions());
        var snapshot = await analytics.ComputeAsync(Date("2026-11-28"), null, default);
        Assert.Empty(snapshot.Trends);
        Assert.Equal(UsageDimensions.Names.Count, store.Reads);
        Assert.Empty(Compute("2026-11-28", [Row("all", "*", Date("2026-11-29"), 5m)]).Trends);
    }

    [Fact]
    public void The_snapshot_round_trips_through_json_with_snake_case_names()
    {
        var snapshot = Compute("2026-11-28", Busy(), [SearchBudget]);
        Assert.NotEmpty(snapshot.Anomalies);
        var json = AnalyticsJson.Serialize(snapshot);

        var back = AnalyticsJson.Deserialize(json);

        Assert.NotNull(back);
        Assert.Equal(json, AnalyticsJson.Serialize(back));
        Assert.Equal(snapshot.Date, back.Date);
        Assert.Equal(snapshot.Anomalies[0], back.Anomalies[0]);
        Assert.Equal(snapshot.Budgets[0], back.Budgets[0]);
        Assert.Equal(snapshot.Forecasts, back.Forecasts);

        var node = JsonNode.Parse(json)!;
        Assert.Equal("analytics_snapshot", (string?)node["object"]);
        Assert.Equal("2026-11-28", (string?)node["date"]);
        Assert.Equal("spend", (string?)node["anomalies"]![0]!["kind"]);
        Assert.Equal("exceeded", (string?)node["budgets"]![0]!["risk"]);
        Assert.Equal("monthly", (string?)node["budgets"]![0]!["period"]);
        Assert.NotNull(node["trends"]![0]!["month"]!["cost_usd"]!["change_pct"]);
        Assert.NotNull(node["top"]!["month_to_date"]![0]!["by_error_rate"]);
        Assert.Equal(0.9, (double)node["parameters"]!["interval_level"]!);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"date":"2026-11-28"}""")]
    [InlineData("null")]
    public void A_damaged_stored_snapshot_reads_as_none(string json) => Assert.Null(AnalyticsJson.Deserialize(json));

    [Fact]
    public void Narrowing_keeps_one_scope_and_its_dimensions_rankings()
    {
        var snapshot = Compute("2026-11-28", Busy(), [SearchBudget]).For(AnalyticsScope.Parse("team:search"));
        Assert.Equal("team:search", snapshot.Scope);
        Assert.Equal(("team", "search"), (Assert.Single(snapshot.Trends).Dimension, snapshot.Trends[0].Value));
        Assert.Single(snapshot.Forecasts);
        Assert.Single(snapshot.Budgets);
        Assert.All(snapshot.Anomalies, a => Assert.Equal("search", a.Value));
        Assert.Equal("team", Assert.Single(snapshot.Top.Day).Dimension);
        Assert.Equal(2, snapshot.Top.Day[0].ByCost.Count);

        var dimension = Compute("2026-11-28", Busy()).For(AnalyticsScope.Parse("team"));
        Assert.Equal(["ads", "search"], dimension.Trends.Select(t => t.Value));
        var all = Compute("2026-11-28", Busy()).For(AnalyticsScope.Parse("all"));
        Assert.Equal("*", Assert.Single(all.Trends).Value);
        Assert.Empty(all.Top.Day);
    }

    [Theory]
    [InlineData("team", "team", null)]
    [InlineData("team:search", "team", "search")]
    [InlineData("served_model:ft:gpt-4o:acme", "served_model", "ft:gpt-4o:acme")]
    [InlineData("tag:env=prod", "tag", "env=prod")]
    [InlineData("all", "all", "*")]
    [InlineData("global", "all", "*")]
    public void Scopes_parse_from_their_text(string text, string dimension, string? value)
    {
        var scope = AnalyticsScope.Parse(text);
        Assert.Equal((dimension, value), (scope.Dimension, scope.Value));
        Assert.Equal(text == "global" ? "all" : text, scope.ToString());
    }

    [Theory]
    [InlineData("teams:search")]
    [InlineData("team:")]
    [InlineData(":x")]
    [InlineData("all:x")]
    public void Other_scopes_are_refused(string text) => Assert.Throws<FormatException>(() => AnalyticsScope.Parse(text));

    [Fact]
    public void Budget_scopes_map_to_the_usage_dimensions_they_count()
    {
        Assert.Equal(AnalyticsScope.All, AnalyticsScope.Of(BudgetScope.Global));
        Assert.Equal(new AnalyticsScope("key", "k1"), AnalyticsScope.Of(BudgetScope.ForKey("k1")));
        Assert.Equal(new AnalyticsScope("user", "bob"), AnalyticsScope.Of(BudgetScope.ForUser("bob")));
        Assert.Equal(new AnalyticsScope("tag", "env=prod"), AnalyticsScope.Of(BudgetScope.ForTag("env", "prod")));
    }

    [Fact]
    public void Options_report_every_bad_setting_by_its_path()
    {
        Assert.Empty(new AnalyticsOptions().Validate());
        var errors = new AnalyticsOptions { BaselineDays = 2, SpendMinRatio = 1, TopN = 0 }.Validate();
        Assert.Equal(4, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("Gateway:Analytics:BaselineDays", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Gateway:Analytics:MinBaselineDays", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Gateway:Analytics:SpendMinRatio", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Gateway:Analytics:TopN", StringComparison.Ordinal));
    }
}
