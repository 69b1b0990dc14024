using Gateway.Core.Budgets;
using Gateway.Core.Usage;

namespace Gateway.Core.Analytics;

/// <summary>
/// The analytics engine: an <see cref="AnalyticsSnapshot"/> of one UTC day from the daily rollups (trends, month-end
/// forecasts, anomalies, top-N) and the budgets (their period's spend from the rollups, hourly and finer at a period's
/// edges). <see cref="Compute"/> is the whole computation over rows already read; <see cref="ComputeAsync"/> reads them.
/// </summary>
public sealed class SpendAnalytics(IRollupStore rollups, IBudgetSource? budgets, TimeProvider time, AnalyticsOptions options)
{
    public AnalyticsOptions Options => options;

    /// <summary>The first day a snapshot of <paramref name="date"/> reads: the month before (for month-over-month), or further back for the baseline or the forecast window.</summary>
    public static DateOnly FirstDayRead(DateOnly date, AnalyticsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var first = TrendAnalysis.FirstDayNeeded(date);
        var baseline = date.AddDays(-options.BaselineDays);
        var window = date.AddDays(1 - options.ForecastWindowDays);
        if (baseline < first) first = baseline;
        if (window < first) first = window;
        return first;
    }

    /// <summary>The start of a UTC day as an instant.</summary>
    public static DateTimeOffset StartOf(DateOnly day) => new(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);

    /// <summary>
    /// The snapshot of <paramref name="date"/> from daily rollup rows (rows after the date are ignored) and the budgets'
    /// period spend. With a <paramref name="scope"/> the rows are taken to be that scope's, and its parts are narrowed to it.
    /// </summary>
    public static AnalyticsSnapshot Compute(DateOnly date, IEnumerable<RollupRow> dailyRows, IReadOnlyList<BudgetPeriodSpend> budgets, DateTimeOffset computedAt,
        AnalyticsOptions options, AnalyticsScope? scope = null)
    {
        ArgumentNullException.ThrowIfNull(dailyRows);
        ArgumentNullException.ThrowIfNull(budgets);
        ArgumentNullException.ThrowIfNull(options);
        var end = StartOf(date.AddDays(1));
        var series = ScopeSeries.Build(dailyRows.Where(r => r.Start < end && (scope is null || scope.Matches(r.Dimension, r.Value))))
            .Where(s => s.FirstDay is not null).ToList();
        var monthStart = new DateOnly(date.Year, date.Month, 1);

        // trends and forecasts for the dearest scopes of each dimension this month (all of them for one named scope)
        var included = new List<ScopeSeries>();
        var coverage = new List<DimensionCoverage>();
        foreach (var dimension in series.GroupBy(s => s.Dimension))
        {
            var limit = scope?.Value is not null ? int.MaxValue : options.MaxScopesPerDimension;
            var chosen = dimension
                .OrderByDescending(s => s.Sum(monthStart, date).CostUsd)
                .ThenByDescending(s => s.Sum(date.AddDays(-30), date).CostUsd)
                .ThenBy(s => s.Value, StringComparer.Ordinal)
                .Take(limit).ToList();
            included.AddRange(chosen);
            coverage.Add(new DimensionCoverage(dimension.Key, dimension.Count(), chosen.Count));
        }

        included.Sort((a, b) => ScopeSeries.DimensionOrder(a.Dimension) != ScopeSeries.DimensionOrder(b.Dimension)
            ? ScopeSeries.DimensionOrder(a.Dimension).CompareTo(ScopeSeries.DimensionOrder(b.Dimension))
            : StringComparer.Ordinal.Compare(a.Value, b.Value));

        var anomalies = series.SelectMany(s => AnomalyDetector.Detect(s, date, options))
            .OrderByDescending(a => a.Severity)
            .ThenBy(a => a.Kind)
            .ThenByDescending(a => a.Score)
            .ThenBy(a => ScopeSeries.DimensionOrder(a.Dimension))
            .ThenBy(a => a.Value, StringComparer.Ordinal)
            .ToList();

        var byScope = series.ToDictionary(s => (s.Dimension, s.Value));
        var budgetForecasts = budgets
            .Select(b => (Budget: b, Scope: AnalyticsScope.Of(b.Definition.Scope)))
            .Where(b => scope is null || scope.Matches(b.Scope.Dimension, b.Scope.Value!))
            .Select(b => BudgetForecaster.Of(b.Budget, byScope.GetValueOrDefault((b.Scope.Dimension, b.Scope.Value!)), date, options.ForecastWindowDays))
            .OrderByDescending(b => b.Risk)
            .ThenBy(b => b.Scope, StringComparer.Ordinal)
            .ToList();

        return new AnalyticsSnapshot(
            date,
            end,
            computedAt,
            scope?.ToString(),
            AnalyticsParameters.From(options),
            [.. coverage.OrderBy(c => ScopeSeries.DimensionOrder(c.Dimension))],
            [.. included.Select(s => TrendAnalysis.Of(s, date))],
            [.. included.Select(s => SpendForecaster.Month(s, date, options.ForecastWindowDays))],
            budgetForecasts,
            anomalies,
            new TopLeaders(
                Leaderboard.Rank(series, date, date, options.TopN, options.TopMinRequests),
                Leaderboard.Rank(series, monthStart, date, options.TopN, options.TopMinRequests)));
    }

    /// <summary>Reads what a snapshot of <paramref name="date"/> needs and computes it (narrowed to <paramref name="scope"/> if given).</summary>
    public async Task<AnalyticsSnapshot> ComputeAsync(DateOnly date, AnalyticsScope? scope, CancellationToken cancellationToken)
    {
        var from = StartOf(FirstDayRead(date, options));
        var to = StartOf(date.AddDays(1));
        var dimensions = scope is null ? UsageDimensions.Names : [scope.Dimension];
        var reads = dimensions.Select(async dimension =>
        {
            var rows = new List<RollupRow>();
            await foreach (var row in rollups.ReadAsync(Granularity.Day, dimension, from, to, scope?.Value, cancellationToken).ConfigureAwait(false)) rows.Add(row);
            return rows;
        }).ToList();
        var periods = await BudgetPeriodsAsync(to, scope, cancellationToken).ConfigureAwait(false);
        var rows = (await Task.WhenAll(reads).ConfigureAwait(false)).SelectMany(r => r);
        return Compute(date, rows, periods, time.GetUtcNow(), options, scope);
    }

    /// <summary>Each budget's period in force at <paramref name="asOf"/> and what its scope spent in it before then.</summary>
    private async Task<IReadOnlyList<BudgetPeriodSpend>> BudgetPeriodsAsync(DateTimeOffset asOf, AnalyticsScope? scope, CancellationToken cancellationToken)
    {
        if (budgets is null) return [];
        var configured = await budgets.ListAsync(cancellationToken).ConfigureAwait(false);
        var spends = configured
            .Select(b => (Budget: b, Scope: AnalyticsScope.Of(b.Definition.Scope)))
            .Where(b => scope is null || scope.Matches(b.Scope.Dimension, b.Scope.Value!))
            .Select(async b =>
            {
                var d = b.Budget.Definition;
                var (start, end) = BudgetPeriods.Containing(d.Period, BudgetPeriods.ResolveTimeZone(d.TimeZone), d.WeekStartsOn, asOf, b.Budget.CreatedAt);
                var spent = await SpentAsync(b.Scope, start, asOf, cancellationToken).ConfigureAwait(false);
                return new BudgetPeriodSpend(d, start, end, spent);
            });
        return await Task.WhenAll(spends).ConfigureAwait(false);
    }

    /// <summary>A scope's cost over [from, to): whole months and days in the middle, hours and 5-minute buckets at the edges.</summary>
    private async Task<decimal> SpentAsync(AnalyticsScope scope, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        var start = UsageBuckets.Floor(from, Granularity.FiveMinutes);
        var total = 0m;
        foreach (var segment in ReportPlan.Cover(start, to))
        {
            await foreach (var row in rollups.ReadAsync(segment.Granularity, scope.Dimension, segment.From, segment.To, scope.Value, cancellationToken).ConfigureAwait(false))
                total += row.Totals.CostUsd;
        }

        return total;
    }
}
