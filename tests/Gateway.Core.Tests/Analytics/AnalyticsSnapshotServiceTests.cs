using System.Text.Json.Nodes;
using Gateway.Core.Analytics;
using Gateway.Core.Budgets;
using Gateway.Core.Usage;
using Microsoft.Extensions.Time.Testing;
using static Gateway.Core.Tests.Analytics.AnalyticsData;

namespace Gateway.Core.Tests.Analytics;

/// <summary>Daily runs (stored, alerted once) and the route's answers (stored, computed when missing, narrowed).</summary>
public sealed class AnalyticsSnapshotServiceTests
{
    private sealed class MemorySnapshots : IAnalyticsSnapshotStore
    {
        public Dictionary<DateOnly, string> Stored { get; } = [];
        public int Writes { get; private set; }

        public Task<string?> ReadAsync(DateOnly date, CancellationToken cancellationToken) => Task.FromResult(Stored.GetValueOrDefault(date));

        public Task WriteAsync(DateOnly date, string json, CancellationToken cancellationToken)
        {
            Writes++;
            Stored[date] = json;
            return Task.CompletedTask;
        }
    }

    private sealed class MemoryAlerts : IAnalyticsAlertSink, IAlertLedger
    {
        private readonly HashSet<string> _sent = [];
        public List<AnalyticsAlert> Published { get; } = [];

        public Task PublishAsync(IReadOnlyList<AnalyticsAlert> alerts, CancellationToken cancellationToken)
        {
            Published.AddRange(alerts);
            return Task.CompletedTask;
        }

        public Task<bool> ContainsAsync(string id, CancellationToken cancellationToken) => Task.FromResult(_sent.Contains(id));

        public Task AddAsync(string id, CancellationToken cancellationToken)
        {
            _sent.Add(id);
            return Task.CompletedTask;
        }
    }

    private readonly FakeTimeProvider _time = new(Instant("2026-11-29T00:30:00Z"));
    private readonly MemorySnapshots _snapshots = new();
    private readonly MemoryAlerts _alerts = new();

    /// <summary>team=search: ~$67 a day, $412 on Nov 28; a $2,300 monthly budget it is on course to pass.</summary>
    private static IEnumerable<RollupRow> Rows()
    {
        var rows = Daily("team", "search", Date("2026-10-01"), Date("2026-11-28"), d => d == Date("2026-11-28") ? 412m : 64m + d.Day % 7).ToList();
        rows.AddRange(Enumerable.Range(1, 60).SelectMany(i => Daily("user", $"u{i:00}", Date("2026-11-01"), Date("2026-11-28"), _ => i / 10m)));
        return rows;
    }

    private AnalyticsSnapshotService Service(MemoryRollupStore store, AnalyticsOptions? options = null) =>
        new(new SpendAnalytics(store, new BudgetForecastTests.FixedBudgets(new ConfiguredBudget(
                new BudgetDefinition { Scope = BudgetScope.ForTeam("search"), LimitUsd = 2300m }, Instant("2026-01-01T00:00:00Z"))),
            _time, options ?? new AnalyticsOptions { MaxScopesPerDimension = 10 }),
            _snapshots, _alerts, _alerts, _time);

    [Fact]
    public async Task A_daily_run_stores_yesterday_and_alerts_each_anomaly_and_overrun_once()
    {
        var store = new MemoryRollupStore(Rows());
        var service = Service(store);

        var first = await service.RunDailyAsync(default);

        Assert.Equal(Date("2026-11-28"), first.Date);
        Assert.Equal((1, 1, 2, 0), (first.Anomalies, first.BudgetsAtRisk, first.AlertsSent, first.AlertsAlreadySent));
        var stored = AnalyticsJson.Deserialize(_snapshots.Stored[Date("2026-11-28")])!;
        Assert.Equal(Instant("2026-11-29T00:30:00Z"), stored.ComputedAt);
        Assert.Equal([AnalyticsAlerts.AnomalyType, AnalyticsAlerts.ForecastOverrunType], _alerts.Published.Select(a => a.Type));
        var anomaly = JsonNode.Parse(_alerts.Published[0].Json)!;
        Assert.Equal(_alerts.Published[0].Id, (string?)anomaly["id"]);
        Assert.Equal("team:search", (string?)anomaly["scope"]);
        Assert.StartsWith("team=search spent $412 on 2026-11-28", (string?)anomaly["reason"], StringComparison.Ordinal);
        var overrun = JsonNode.Parse(_alerts.Published[1].Json)!;
        Assert.Equal("likely", (string?)overrun["risk"]);
        Assert.Equal(2300m, (decimal)overrun["limit_usd"]!);
        Assert.StartsWith("team:search is projected to spend $", (string?)overrun["reason"], StringComparison.Ordinal);

        // run again (a retry, a second instance): the same snapshot, no alert again
        _time.Advance(TimeSpan.FromMinutes(10));
        var again = await service.RunDailyAsync(default);
        Assert.Equal((0, 2), (again.AlertsSent, again.AlertsAlreadySent));
        Assert.Equal(2, _alerts.Published.Count);
        var rerun = AnalyticsJson.Deserialize(_snapshots.Stored[Date("2026-11-28")])!;
        Assert.Equal(AnalyticsJson.Serialize(stored with { ComputedAt = rerun.ComputedAt }), AnalyticsJson.Serialize(rerun));

        // the next day the overrun is the same budget period: still one alert for it
        store = new MemoryRollupStore(Rows().Append(Row("team", "search", Date("2026-11-29"), 70m)));
        _time.Advance(TimeSpan.FromDays(1));
        var next = await Service(store).RunDailyAsync(default);
        Assert.Equal((Date("2026-11-29"), 0, 1), (next.Date, next.AlertsSent, next.AlertsAlreadySent));
    }

    [Fact]
    public async Task Alerts_below_the_least_severity_or_switched_off_are_not_sent()
    {
        var service = Service(new MemoryRollupStore(Rows()),
            new AnalyticsOptions { AlertMinSeverity = AnomalySeverity.High, AlertForecastOverruns = false });
        var result = await service.RunDailyAsync(default);
        Assert.Equal((1, 0), (result.Anomalies, result.AlertsSent));
        Assert.Empty(_alerts.Published);
    }

    [Fact]
    public async Task The_route_answers_the_stored_snapshot_and_computes_and_stores_a_missing_one()
    {
        var store = new MemoryRollupStore(Rows());
        var service = Service(store);
        var query = new AnalyticsQuery(Date("2026-11-28"), null, false);

        var computed = await service.GetAsync(query, default);
        Assert.Equal(1, _snapshots.Writes);
        var reads = store.Reads;

        var stored = await service.GetAsync(query, default);
        Assert.Equal(reads, store.Reads);
        Assert.Equal(AnalyticsJson.Serialize(computed), AnalyticsJson.Serialize(stored));
        Assert.Empty(_alerts.Published);

        _time.Advance(TimeSpan.FromHours(1));
        var refreshed = await service.GetAsync(query with { Refresh = true }, default);
        Assert.Equal(2, _snapshots.Writes);
        Assert.True(refreshed.ComputedAt > computed.ComputedAt);
    }

    [Fact]
    public async Task A_damaged_stored_snapshot_is_computed_again()
    {
        _snapshots.Stored[Date("2026-11-28")] = "{\"truncated";
        var snapshot = await Service(new MemoryRollupStore(Rows())).GetAsync(new AnalyticsQuery(Date("2026-11-28"), null, false), default);
        Assert.NotEmpty(snapshot.Trends);
        Assert.NotNull(AnalyticsJson.Deserialize(_snapshots.Stored[Date("2026-11-28")]));
    }

    [Fact]
    public async Task A_scope_left_out_of_the_stored_snapshot_is_computed_for_itself()
    {
        var service = Service(new MemoryRollupStore(Rows()));
        // ten users make the cut (u51..u60 spend the most); u03 does not
        var all = await service.GetAsync(new AnalyticsQuery(Date("2026-11-28"), null, false), default);
        Assert.Equal(new DimensionCoverage(UsageDimensions.User, 60, 10), all.Coverage.Single(c => c.Dimension == "user"));
        Assert.DoesNotContain(all.Trends, t => t.Value == "u03");

        var one = await service.GetAsync(new AnalyticsQuery(Date("2026-11-28"), new AnalyticsScope("user", "u03"), false), default);

        Assert.Equal("user:u03", one.Scope);
        var trend = Assert.Single(one.Trends);
        Assert.Equal(0.3m, trend.Day.CostUsd.Current);
        Assert.Equal(0.3m * 28, Assert.Single(one.Forecasts).MonthToDateUsd);
        // where it stands: the dimension's rankings from the stored snapshot
        Assert.Equal("u60", Assert.Single(one.Top.MonthToDate).ByCost[0].Value);
    }

    [Fact]
    public async Task A_day_without_data_is_an_empty_snapshot()
    {
        var snapshot = await Service(new MemoryRollupStore()).GetAsync(new AnalyticsQuery(Date("2025-01-15"), AnalyticsScope.Parse("team:none"), false), default);
        Assert.Empty(snapshot.Trends);
        Assert.Empty(snapshot.Anomalies);
        Assert.Empty(snapshot.Top.Day);
        // a configured budget is still reported: nothing spent, nothing at risk
        var whole = await Service(new MemoryRollupStore()).GetAsync(new AnalyticsQuery(Date("2025-01-15"), null, false), default);
        var budget = Assert.Single(whole.Budgets);
        Assert.Equal((0m, BudgetRisk.None, Instant("2025-01-01T00:00:00Z")), (budget.SpentUsd, budget.Risk, budget.PeriodStart));
    }
}
