using System.Runtime.CompilerServices;
using Gateway.Core.Analytics;
using Gateway.Core.Budgets;
using Gateway.Core.Reports;
using Gateway.Core.Savings;
using Gateway.Core.Tests.Analytics;
using Gateway.Core.Tests.Savings;
using Gateway.Core.Usage;
using Microsoft.Extensions.Time.Testing;
using static Gateway.Testing.Reports.SummaryData;

namespace Gateway.Core.Tests.Reports;

/// <summary>The service gathers rollups, the snapshot of the last day and the scope's savings, and builds what the builder builds.</summary>
public sealed class ExecutiveSummaryServiceTests
{
    private sealed class MemorySnapshots : IAnalyticsSnapshotStore
    {
        public Dictionary<DateOnly, string> Stored { get; } = [];

        public Task<string?> ReadAsync(DateOnly date, CancellationToken cancellationToken) => Task.FromResult(Stored.GetValueOrDefault(date));

        public Task WriteAsync(DateOnly date, string json, CancellationToken cancellationToken)
        {
            Stored[date] = json;
            return Task.CompletedTask;
        }
    }

    private sealed class NoAlerts : IAnalyticsAlertSink, IAlertLedger
    {
        public Task PublishAsync(IReadOnlyList<AnalyticsAlert> alerts, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<bool> ContainsAsync(string id, CancellationToken cancellationToken) => Task.FromResult(false);

        public Task AddAsync(string id, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>Raw records in memory, read by range as the table store reads them.</summary>
    private sealed class MemoryRecords(IEnumerable<UsageRecord> records) : IUsageRecordStore
    {
        private readonly List<UsageRecord> _records = [.. records];

        public (DateTimeOffset From, DateTimeOffset To)? LastRange { get; private set; }

        public async IAsyncEnumerable<UsageRecord> ReadRangeAsync(DateTimeOffset from, DateTimeOffset to, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            LastRange = (from, to);
            await Task.Yield();
            foreach (var r in _records.Where(r => r.At >= from && r.At < to).OrderBy(r => r.At)) yield return r;
        }

        public Task WriteAsync(IReadOnlyList<UsageRecord> batch, CancellationToken cancellationToken)
        {
            _records.AddRange(batch);
            return Task.CompletedTask;
        }

        public IAsyncEnumerable<UsageRecord> ReadBucketAsync(string fiveMinuteKey, CancellationToken cancellationToken) =>
            ReadRangeAsync(DateTimeOffset.MinValue, DateTimeOffset.MaxValue, cancellationToken);

        public Task<IReadOnlyList<DirtyBucket>> ReadDirtyAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<DirtyBucket>>([]);

        public Task<bool> ClearDirtyAsync(DirtyBucket bucket, CancellationToken cancellationToken) => Task.FromResult(true);

        public Task<long> DeleteBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) => Task.FromResult((long)_records.RemoveAll(r => r.At < cutoff));
    }

    private static readonly DateOnly To = Date("2026-11-25");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 9, 0, 0, TimeSpan.Zero));
    private readonly MemorySnapshots _snapshots = new();
    private readonly MemoryRecords _records = new(SavingsWorkloads.PlantedWeek());

    private ExecutiveSummaryService Service(MemoryRollupStore rollups, SavingsOptions? savings = null)
    {
        var budgets = new BudgetForecastTests.FixedBudgets(
            new ConfiguredBudget(new BudgetDefinition { Scope = BudgetScope.ForTeam("search"), LimitUsd = 1000m }, StartOf(Date("2026-01-01"))),
            new ConfiguredBudget(new BudgetDefinition { Scope = BudgetScope.ForTeam("ads"), LimitUsd = 5000m }, StartOf(Date("2026-01-01"))));
        var options = new AnalyticsOptions();
        var snapshots = new AnalyticsSnapshotService(new SpendAnalytics(rollups, budgets, _time, options), _snapshots, new NoAlerts(), new NoAlerts(), _time);
        return new ExecutiveSummaryService(rollups, _records, snapshots, () => SavingsWorkloads.Engine(savings), options, savings ?? new SavingsOptions(), _time);
    }

    [Fact]
    public async Task It_builds_what_the_builder_builds_from_the_stores()
    {
        var rollups = new MemoryRollupStore(Rows());
        var summary = await Service(rollups).BuildAsync(new SummaryQuery(November, To, AnalyticsScope.All, SummaryFormat.Json), default);

        var expected = ExecutiveSummaryBuilder.Build(Inputs(November, To), new AnalyticsOptions()) with { Savings = summary.Savings, GeneratedAt = summary.GeneratedAt };
        Assert.Equal(SummaryJson.Serialize(expected), SummaryJson.Serialize(summary));
        Assert.Equal(_time.GetUtcNow(), summary.GeneratedAt);
        var atRisk = Assert.Single(summary.BudgetsAtRisk);
        Assert.Equal(("team:search", BudgetRisk.Likely, 960m), (atRisk.Scope, atRisk.Risk, atRisk.SpentUsd));
        Assert.Equal(1792m, summary.Spend.CostUsd);
        // the snapshot of the last day is stored, as the analytics route stores it
        Assert.True(_snapshots.Stored.ContainsKey(Date("2026-11-24")));
    }

    [Fact]
    public async Task Savings_read_the_scopes_records_of_the_ranges_last_days()
    {
        var planted = SavingsWorkloads.PlantedWeek();
        var whole = await Service(new MemoryRollupStore()).BuildAsync(new SummaryQuery(November, To, AnalyticsScope.All, SummaryFormat.Json), default);
        var expected = SavingsWorkloads.Engine().Analyze(planted, StartOf(November), StartOf(To), _time.GetUtcNow());
        Assert.Equal((planted.Count, expected.TotalMonthlySavingUsd, expected.Recommendations.Count), (whole.Savings.Requests, whole.Savings.TotalMonthlySavingUsd, whole.Savings.Recommendations));
        Assert.True(whole.Savings.TotalMonthlySavingUsd > 0);

        var support = await Service(new MemoryRollupStore()).BuildAsync(new SummaryQuery(November, To, AnalyticsScope.Parse("team:support"), SummaryFormat.Json), default);
        Assert.Equal(planted.Count(r => r.Team == "support"), support.Savings.Requests);
        Assert.Contains(support.Savings.Top, r => r.Scope == "team:support" && r.Kind == "response_cache");
        Assert.DoesNotContain(support.Savings.Top, r => r.Scope == "key:key_etl");

        // a range longer than the savings window: its last 7 days (here) are analysed
        var service = Service(new MemoryRollupStore(), new SavingsOptions { MaxRangeDays = 7 });
        var lastWeek = await service.BuildAsync(new SummaryQuery(November, Date("2026-11-09"), AnalyticsScope.All, SummaryFormat.Json), default);
        Assert.Equal((StartOf(Date("2026-11-02")), StartOf(Date("2026-11-09"))), (lastWeek.Savings.From, lastWeek.Savings.To));
        Assert.Equal(_records.LastRange, (lastWeek.Savings.From, lastWeek.Savings.To));
    }

    [Fact]
    public async Task An_empty_range_reads_nothing_and_is_empty()
    {
        var rollups = new MemoryRollupStore(Rows());
        var summary = await Service(rollups).BuildAsync(new SummaryQuery(November, November, AnalyticsScope.All, SummaryFormat.Pdf), default);

        Assert.Equal(0, rollups.Reads);
        Assert.Null(_records.LastRange);
        Assert.Empty(_snapshots.Stored);
        Assert.Equal((0, SpendTotals.Zero), (summary.Days, summary.Spend));
    }
}
