using Gateway.Core.Analytics;
using Gateway.Core.Savings;
using Gateway.Core.Usage;

namespace Gateway.Core.Reports;

/// <summary>
/// Builds an <see cref="ExecutiveSummary"/> from rows already read (pure: the same inputs give the same summary). Spend,
/// trend, the daily series, top consumers and anomalies come from daily rollups; the month-end forecast and budgets at risk
/// from the analytics snapshot of the range's last day; savings from the savings report.
/// <list type="bullet">
/// <item>For all traffic the rankings are teams, models and keys, and anomalies are looked for in all traffic and in each
/// team, model and key. For one scope (<c>team:search</c>) the ranking is its dimension (where it stands among its peers:
/// rollups are per dimension, so a team's own models are not known to them; the scope is listed with its rank when it is not
/// among the first <see cref="TopConsumerCount"/>), and anomalies are its own.</item>
/// <item>Each day of the range is judged for anomalies against its own baseline, as the daily snapshot judges its date.</item>
/// </list>
/// </summary>
public static class ExecutiveSummaryBuilder
{
    /// <summary>Entries per ranking.</summary>
    public const int TopConsumerCount = 5;

    /// <summary>Recommendations shown (the total counts all of them).</summary>
    public const int TopRecommendationCount = 5;

    /// <summary>The dimensions ranked, and judged for anomalies, in a summary of all traffic.</summary>
    public static IReadOnlyList<string> ConsumerDimensions { get; } = [UsageDimensions.Team, UsageDimensions.Model, UsageDimensions.Key];

    /// <summary>
    /// The daily rollups a summary of [<paramref name="from"/>, <paramref name="to"/>) needs, none read twice: the scope over the
    /// previous range and the anomaly baseline too; its peers (or teams, models and keys) over the range, and over the
    /// baseline for all traffic.
    /// </summary>
    public static IReadOnlyList<SummaryRead> Reads(DateOnly from, DateOnly to, AnalyticsScope scope, AnalyticsOptions options)
    {
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(options);
        var days = to.DayNumber - from.DayNumber;
        if (days <= 0) return [];
        var baseline = from.AddDays(-options.BaselineDays);
        var history = from.AddDays(-days) < baseline ? from.AddDays(-days) : baseline;
        if (IsAll(scope))
            return [new SummaryRead(UsageDimensions.All, null, history, to), .. ConsumerDimensions.Select(d => new SummaryRead(d, null, baseline, to))];
        return [new SummaryRead(scope.Dimension, scope.Value, history, from), new SummaryRead(scope.Dimension, null, from, to)];
    }

    public static ExecutiveSummary Build(ExecutiveSummaryInputs inputs, AnalyticsOptions options)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(options);
        var (from, to, scope) = (inputs.From, inputs.To, inputs.Scope);
        var days = to.DayNumber - from.DayNumber;
        if (days < 0) throw new ArgumentException("The range ends before it starts.", nameof(inputs));
        if (scope.Value is null) throw new ArgumentException("A summary is of all traffic or of one scope, not of a whole dimension.", nameof(inputs));
        var last = to.AddDays(-1);
        if (inputs.Snapshot is { } s && (days == 0 || s.Date != last))
            throw new ArgumentException($"The snapshot must be of the range's last day ({last:yyyy-MM-dd}), not {s.Date:yyyy-MM-dd}.", nameof(inputs));

        var end = SpendAnalytics.StartOf(to);
        var series = ScopeSeries.Build(inputs.DailyRows.Where(r => r.Start < end));
        var own = series.FirstOrDefault(x => x.Dimension == scope.Dimension && x.Value == scope.Value);
        var spend = days == 0 ? SpendTotals.Zero : Totals(own, from, last);
        var previousFrom = from.AddDays(-days);
        var previous = days == 0 ? SpendTotals.Zero : Totals(own, previousFrom, from.AddDays(-1));
        var change = spend.CostUsd - previous.CostUsd;

        var daily = new List<DailySpend>(days);
        for (var d = from; d < to; d = d.AddDays(1))
        {
            var a = own?.Day(d);
            daily.Add(new DailySpend(d, a?.CostUsd ?? 0m, a?.Requests ?? 0));
        }

        var ranked = IsAll(scope) ? ConsumerDimensions : [scope.Dimension];
        var judged = IsAll(scope)
            ? series.Where(x => x.Dimension == UsageDimensions.All || ConsumerDimensions.Contains(x.Dimension))
            : own is null ? [] : [own];

        return new ExecutiveSummary(
            from,
            to,
            days,
            scope.ToString(),
            inputs.GeneratedAt,
            spend,
            new SpendTrend(previousFrom, from, previous, change, previous.CostUsd == 0 ? null : Math.Round((double)(change / previous.CostUsd * 100), 1)),
            daily,
            Forecast(inputs.Snapshot, scope),
            [.. ranked.Select(d => Rank(series, d, from, last, days, IsAll(scope) ? null : scope.Value))],
            BudgetsAtRisk(inputs.Snapshot, scope),
            days == 0 ? [] : Anomalies(judged, from, last, options),
            Savings(inputs.Savings));
    }

    private static bool IsAll(AnalyticsScope scope) => scope.Dimension == UsageDimensions.All;

    private static SpendTotals Totals(ScopeSeries? series, DateOnly from, DateOnly to)
    {
        if (series is null) return SpendTotals.Zero;
        var a = series.Sum(from, to);
        return new SpendTotals(a.CostUsd, a.Requests, a.Errors, a.TotalTokens);
    }

    /// <summary>The dimension's dearest scopes; a summary's own scope (<paramref name="own"/>) is added with its rank when it is not among them.</summary>
    private static TopConsumers Rank(IEnumerable<ScopeSeries> series, string dimension, DateOnly from, DateOnly last, int days, string? own)
    {
        if (days == 0) return new TopConsumers(dimension, []);
        var costs = series.Where(s => s.Dimension == dimension).Select(s => (s.Value, Totals: s.Sum(from, last))).Where(c => c.Totals.Requests > 0 || c.Totals.CostUsd != 0).ToList();
        var total = costs.Sum(c => c.Totals.CostUsd);
        var ranked = costs.Where(c => c.Totals.CostUsd > 0)
            .OrderByDescending(c => c.Totals.CostUsd)
            .ThenBy(c => c.Value, StringComparer.Ordinal)
            .Select((c, i) => new Consumer(i + 1, c.Value, c.Totals.CostUsd, total <= 0 ? 0 : Math.Round((double)(c.Totals.CostUsd / total * 100), 1), c.Totals.Requests,
                c.Totals.TotalTokens))
            .ToList();
        var top = ranked.Take(TopConsumerCount).ToList();
        if (own is not null && ranked.Skip(TopConsumerCount).FirstOrDefault(c => c.Value == own) is { } itself) top.Add(itself);
        return new TopConsumers(dimension, top);
    }

    private static List<RangeAnomaly> Anomalies(IEnumerable<ScopeSeries> judged, DateOnly from, DateOnly last, AnalyticsOptions options)
    {
        var found = new List<RangeAnomaly>();
        foreach (var s in judged)
        {
            for (var d = from; d <= last; d = d.AddDays(1))
            {
                if (!s.HasTraffic(d)) continue;
                found.AddRange(AnomalyDetector.Detect(s, d, options).Select(a =>
                    new RangeAnomaly(a.Date, a.Kind, a.Severity, a.Dimension, a.Value, a.Observed, a.BaselineMedian, a.Ratio, a.Reason)));
            }
        }

        return [.. found
            .OrderByDescending(a => a.Severity)
            .ThenByDescending(a => a.Date)
            .ThenBy(a => a.Kind)
            .ThenBy(a => ScopeSeries.DimensionOrder(a.Dimension))
            .ThenBy(a => a.Value, StringComparer.Ordinal)];
    }

    private static MonthEndForecast? Forecast(AnalyticsSnapshot? snapshot, AnalyticsScope scope) =>
        snapshot?.Forecasts.FirstOrDefault(f => f.Dimension == scope.Dimension && f.Value == scope.Value) is { } f
            ? new MonthEndForecast(f.MonthStart, snapshot.Date, f.DaysElapsed, f.DaysInMonth, f.MonthToDateUsd, f.ProjectedUsd, f.LowerUsd, f.UpperUsd, f.RunRateUsdPerDay, f.Method)
            : null;

    private static List<BudgetAtRisk> BudgetsAtRisk(AnalyticsSnapshot? snapshot, AnalyticsScope scope) =>
        snapshot is null
            ? []
            : [.. snapshot.Budgets
                .Where(b => b.AtRisk && (IsAll(scope) || scope.Matches(b.Dimension, b.Value)))
                .OrderByDescending(b => b.Risk)
                .ThenBy(b => b.Scope, StringComparer.Ordinal)
                .Select(b => new BudgetAtRisk(b.Scope, b.Period, b.TimeZone, b.PeriodStart, b.LimitUsd, b.SpentUsd, b.ProjectedUsd, b.UpperUsd, b.HorizonEnd, b.RunsOutOn, b.Risk))];

    private static SavingsSummary Savings(SavingsReport report) => new(
        report.From,
        report.To,
        report.Requests,
        report.MonthlySpendUsd,
        report.TotalMonthlySavingUsd,
        report.Recommendations.Count,
        [.. report.Recommendations.Take(TopRecommendationCount).Select(r => new SavingsItem(SavingsReport.KindName(r.Kind), r.Scope.ToString(), r.Title,
            r.EstimatedMonthlySavingUsd, r.Confidence.ToString().ToLowerInvariant(), r.Evidence.Summary))]);
}
