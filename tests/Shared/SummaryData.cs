using System.Globalization;
using Gateway.Core.Analytics;
using Gateway.Core.Budgets;
using Gateway.Core.Reports;
using Gateway.Core.Savings;
using Gateway.Core.Usage;

namespace Gateway.Testing.Reports;

/// <summary>
/// A fixed gateway for summary tests, as daily rollups: from 2026-10-02 to 2026-11-30, team <c>search</c> (model gpt-4o, key
/// key_search) spends $30 a day in October and $40 in November; team <c>ads</c> (gpt-4o-mini, key_ads) $20 a day, but $300 on
/// 2026-11-20; three small keys of no team (mock-1) $1 a day each. November: $2,170 (search 1,200, ads 880, none 90) against
/// $1,590 over the 30 days before it. Budgets: team:search $1,000 a month (passed on 2026-11-25, and on course to pass
/// December's at $40 a day), team:ads $5,000 (safe).
/// Savings: six recommendations worth $100, 50, 40, 30, 20 and 10 a month.
/// </summary>
internal static class SummaryData
{
    public static readonly DateOnly November = Date("2026-11-01");
    public static readonly DateOnly December = Date("2026-12-01");
    public static readonly DateTimeOffset GeneratedAt = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);
    public static readonly DateOnly SpikeDay = Date("2026-11-20");

    public static DateOnly Date(string text) => DateOnly.ParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static DateTimeOffset StartOf(DateOnly day) => new(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);

    private static RollupRow Row(string dimension, string value, DateOnly day, decimal cost, long requests) =>
        new(Granularity.Day, StartOf(day), dimension, value, new UsageAggregate
        {
            Requests = requests,
            Errors = requests / 100,
            PromptTokens = requests * 750,
            CompletionTokens = requests * 250,
            CostUsd = cost,
            LatencyMsTotal = requests * 800,
        });

    /// <summary>Every daily rollup row the gateway has, under every dimension a request counts in.</summary>
    public static List<RollupRow> Rows(string adsTeam = "ads", string searchTeam = "search")
    {
        var rows = new List<RollupRow>();
        for (var d = Date("2026-10-02"); d <= Date("2026-11-30"); d = d.AddDays(1))
        {
            var search = d.Month == 10 ? 30m : 40m;
            var ads = d == SpikeDay ? 300m : 20m;
            rows.Add(Row(UsageDimensions.Team, searchTeam, d, search, 400));
            rows.Add(Row(UsageDimensions.Model, "gpt-4o", d, search, 400));
            rows.Add(Row(UsageDimensions.Key, "key_search", d, search, 400));
            rows.Add(Row(UsageDimensions.Team, adsTeam, d, ads, 200));
            rows.Add(Row(UsageDimensions.Model, "gpt-4o-mini", d, ads, 200));
            rows.Add(Row(UsageDimensions.Key, "key_ads", d, ads, 200));
            rows.Add(Row(UsageDimensions.Team, UsageDimensions.None, d, 3m, 30));
            rows.Add(Row(UsageDimensions.Model, "mock-1", d, 3m, 30));
            foreach (var k in new[] { "key_k1", "key_k2", "key_k3" }) rows.Add(Row(UsageDimensions.Key, k, d, 1m, 10));
            rows.Add(Row(UsageDimensions.All, "*", d, search + ads + 3m, 630));
        }

        return rows;
    }

    /// <summary>The monthly rollups of daily rows, as the rollup job writes them (budgets' spend reads whole months from them).</summary>
    public static List<RollupRow> Monthly(IEnumerable<RollupRow> daily) =>
        [.. daily.GroupBy(r => (r.Dimension, r.Value, Month: new DateTimeOffset(r.Start.Year, r.Start.Month, 1, 0, 0, 0, TimeSpan.Zero))).Select(g =>
        {
            var totals = new UsageAggregate();
            foreach (var r in g) totals.Add(r.Totals);
            return new RollupRow(Granularity.Month, g.Key.Month, g.Key.Dimension, g.Key.Value, totals);
        })];

    /// <summary>The rows a summary reads (<see cref="ExecutiveSummaryBuilder.Reads"/>), from <paramref name="all"/> as the rollup store answers them.</summary>
    public static List<RollupRow> Read(IEnumerable<RollupRow> all, DateOnly from, DateOnly to, AnalyticsScope scope, AnalyticsOptions options) =>
        [.. ExecutiveSummaryBuilder.Reads(from, to, scope, options).SelectMany(read => all.Where(r =>
            r.Dimension == read.Dimension && (read.Value is null || r.Value == read.Value) && r.Start >= StartOf(read.From) && r.Start < StartOf(read.To)))];

    /// <summary>
    /// The budgets' periods as the analytics engine takes them for a snapshot of <paramref name="last"/>: the period in force at
    /// the end of that day (on a month's last day, the next month's), with what the team spent in it before then.
    /// </summary>
    public static IReadOnlyList<BudgetPeriodSpend> Budgets(IEnumerable<RollupRow> rows, DateOnly last, string searchTeam = "search")
    {
        var asOf = StartOf(last.AddDays(1));
        BudgetPeriodSpend Monthly(string team, decimal limit)
        {
            var definition = new BudgetDefinition { Scope = BudgetScope.ForTeam(team), LimitUsd = limit };
            var (start, end) = BudgetPeriods.Containing(definition.Period, BudgetPeriods.ResolveTimeZone(definition.TimeZone), definition.WeekStartsOn, asOf, StartOf(Date("2026-01-01")));
            var spent = rows.Where(r => r.Granularity == Granularity.Day && r.Dimension == UsageDimensions.Team && r.Value == team && r.Start >= start && r.Start < asOf)
                .Sum(r => r.Totals.CostUsd);
            return new BudgetPeriodSpend(definition, start, end, spent);
        }

        return [Monthly(searchTeam, 1000m), Monthly("ads", 5000m)];
    }

    public static AnalyticsSnapshot Snapshot(IReadOnlyList<RollupRow> rows, DateOnly last, AnalyticsScope? scope = null, string searchTeam = "search")
    {
        var snapshot = SpendAnalytics.Compute(last, rows, Budgets(rows, last, searchTeam), GeneratedAt, new AnalyticsOptions());
        return scope is null || scope == AnalyticsScope.All ? snapshot : snapshot.For(scope);
    }

    public static Recommendation Recommendation(RecommendationKind kind, string scopeKind, string scope, string title, decimal saving) =>
        new(kind, new RecommendationScope(scopeKind, scope), title, new SavingsEvidence($"{title}: the evidence.", [new SavingsFigure("requests", 1200m)]), saving,
            SavingsConfidence.High);

    public static SavingsReport Savings(DateOnly from, DateOnly to, string title = "Send short gpt-4o requests to gpt-4o-mini")
    {
        Recommendation[] found =
        [
            Recommendation(RecommendationKind.CheaperModel, RecommendationScope.Team, "search", title, 100m),
            Recommendation(RecommendationKind.BatchApi, RecommendationScope.Key, "key_ads", "Move key_ads's nightly jobs to the batch API", 50m),
            Recommendation(RecommendationKind.ResponseCache, RecommendationScope.Team, "ads", "Cache ads's repeated requests", 40m),
            Recommendation(RecommendationKind.PromptCaching, RecommendationScope.Deployment, "oai-4o", "Let the provider cache long prefixes", 30m),
            Recommendation(RecommendationKind.CheaperDeployment, RecommendationScope.Model, "gpt-4o", "Serve gpt-4o from azure-4o", 20m),
            Recommendation(RecommendationKind.CheaperModel, RecommendationScope.Team, "(none)", "Send short mock-1 requests elsewhere", 10m),
        ];
        return new SavingsReport(StartOf(from), StartOf(to), 2170m, found, found.Sum(r => r.EstimatedMonthlySavingUsd))
        {
            Requests = 18_900,
            ObservedDays = to.DayNumber - from.DayNumber,
            MonthlySpendUsd = 2170m,
        };
    }

    /// <summary>The inputs of a summary of [<paramref name="from"/>, <paramref name="to"/>) of the fixed gateway, as the service would gather them.</summary>
    public static ExecutiveSummaryInputs Inputs(DateOnly from, DateOnly to, AnalyticsScope? scope = null, List<RollupRow>? rows = null, string searchTeam = "search",
        string savingsTitle = "Send short gpt-4o requests to gpt-4o-mini")
    {
        scope ??= AnalyticsScope.All;
        rows ??= Rows();
        var options = new AnalyticsOptions();
        var last = to.AddDays(-1);
        var snapshot = to > from ? Snapshot(rows.Where(r => r.Start <= StartOf(last)).ToList(), last, scope, searchTeam) : null;
        return new ExecutiveSummaryInputs(from, to, scope, Read(rows, from, to, scope, options), snapshot,
            to > from ? Savings(from, to, savingsTitle) : SavingsReport.Empty(StartOf(from), StartOf(from)), GeneratedAt);
    }

    /// <summary>November 2026 of the fixed gateway, all traffic.</summary>
    public static ExecutiveSummary NovemberSummary() => ExecutiveSummaryBuilder.Build(Inputs(November, December), new AnalyticsOptions());

    /// <summary>An empty range (2026-11-01 to itself).</summary>
    public static ExecutiveSummary EmptySummary() => ExecutiveSummaryBuilder.Build(Inputs(November, November), new AnalyticsOptions());
}
