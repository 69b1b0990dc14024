using Gateway.Core.Analytics;
using Gateway.Core.Savings;
using Gateway.Core.Usage;

namespace Gateway.Core.Reports;

/// <summary>
/// Gathers what a summary needs and builds it (<see cref="ExecutiveSummaryBuilder"/>): the daily rollups it names, the
/// analytics snapshot of the range's last day (the stored one, computed and stored when missing, as
/// <c>GET /gateway/analytics</c> answers it), and the savings analysis of the raw records of the range's last
/// <see cref="SavingsOptions.MaxRangeDays"/> days, of the scope's records only. An empty range reads nothing.
/// </summary>
public sealed class ExecutiveSummaryService(
    IRollupStore rollups,
    IUsageRecordStore records,
    AnalyticsSnapshotService snapshots,
    Func<SavingsEngine> savings,
    AnalyticsOptions analyticsOptions,
    SavingsOptions savingsOptions,
    TimeProvider time)
{
    public async Task<ExecutiveSummary> BuildAsync(SummaryQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var now = time.GetUtcNow();
        if (query.IsEmpty)
        {
            var at = SpendAnalytics.StartOf(query.From);
            return ExecutiveSummaryBuilder.Build(new ExecutiveSummaryInputs(query.From, query.To, query.Scope, [], null, SavingsReport.Empty(at, at), now), analyticsOptions);
        }

        var reads = ExecutiveSummaryBuilder.Reads(query.From, query.To, query.Scope, analyticsOptions).Select(r => ReadAsync(r, cancellationToken)).ToList();
        // all traffic takes the whole snapshot: budgets of every scope can be at risk
        var narrowTo = query.Scope == AnalyticsScope.All ? null : query.Scope;
        var snapshot = await snapshots.GetAsync(new AnalyticsQuery(query.To.AddDays(-1), narrowTo, Refresh: false), cancellationToken).ConfigureAwait(false);
        var report = await SavingsAsync(query, now, cancellationToken).ConfigureAwait(false);
        var rows = (await Task.WhenAll(reads).ConfigureAwait(false)).SelectMany(r => r).ToList();
        return ExecutiveSummaryBuilder.Build(new ExecutiveSummaryInputs(query.From, query.To, query.Scope, rows, snapshot, report, now), analyticsOptions);
    }

    /// <summary>The savings window: the range's last <see cref="SavingsOptions.MaxRangeDays"/> days (savings read raw records).</summary>
    public (DateTimeOffset From, DateTimeOffset To) SavingsWindow(SummaryQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var from = query.From;
        var earliest = query.To.AddDays(-savingsOptions.MaxRangeDays);
        if (earliest > from) from = earliest;
        return (SpendAnalytics.StartOf(from), SpendAnalytics.StartOf(query.To));
    }

    private async Task<SavingsReport> SavingsAsync(SummaryQuery query, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var (from, to) = SavingsWindow(query);
        var scope = query.Scope;
        var all = scope.Dimension == UsageDimensions.All;
        var range = records.ReadRangeAsync(from, to, cancellationToken);
        var scoped = all ? range : Where(range, r => UsageDimensions.Of(r).Any(d => scope.Matches(d.Dimension, d.Value)), cancellationToken);
        return await savings().AnalyzeAsync(scoped, from, to, now, cancellationToken).ConfigureAwait(false);
    }

    private static async IAsyncEnumerable<UsageRecord> Where(IAsyncEnumerable<UsageRecord> source, Func<UsageRecord, bool> keep,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var r in source.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (keep(r)) yield return r;
        }
    }

    private async Task<List<RollupRow>> ReadAsync(SummaryRead read, CancellationToken cancellationToken)
    {
        var rows = new List<RollupRow>();
        await foreach (var row in rollups.ReadAsync(Granularity.Day, read.Dimension, SpendAnalytics.StartOf(read.From), SpendAnalytics.StartOf(read.To), read.Value, cancellationToken)
                           .ConfigureAwait(false))
            rows.Add(row);
        return rows;
    }
}
