using Gateway.Core.Analytics;
using Gateway.Core.Savings;
using Gateway.Core.Usage;

namespace Gateway.Core.Reports;

/// <summary>One read of daily rollups a summary needs: a dimension (one value of it, or all of them) over [From, To).</summary>
public sealed record SummaryRead(string Dimension, string? Value, DateOnly From, DateOnly To);

/// <summary>
/// What <see cref="ExecutiveSummaryBuilder"/> builds a summary from: the daily rollup rows of <see cref="ExecutiveSummaryBuilder.Reads"/>
/// (each (dimension, value, day) once), the analytics snapshot of the range's last day narrowed to the scope (forecast and
/// budgets; null for an empty range), and the savings report of the range's last days.
/// </summary>
public sealed record ExecutiveSummaryInputs(
    DateOnly From,
    DateOnly To,
    AnalyticsScope Scope,
    IReadOnlyList<RollupRow> DailyRows,
    AnalyticsSnapshot? Snapshot,
    SavingsReport Savings,
    DateTimeOffset GeneratedAt);
