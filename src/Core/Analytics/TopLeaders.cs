namespace Gateway.Core.Analytics;

/// <summary>One scope in a ranking, with every figure the rankings use (mean latency is LatencyMsTotal ÷ requests).</summary>
public sealed record Leader(string Value, decimal CostUsd, long Requests, long TotalTokens, long Errors, double ErrorRate, double? MeanLatencyMs);

/// <summary>
/// The top scopes of one dimension by cost, by tokens, by mean latency and by errors (count and rate). The latency and
/// error-rate rankings leave out scopes with fewer than <see cref="AnalyticsOptions.TopMinRequests"/> requests; each
/// ranking leaves out scopes with nothing to rank by (no cost, no tokens, no errors).
/// </summary>
public sealed record DimensionLeaders(
    string Dimension,
    IReadOnlyList<Leader> ByCost,
    IReadOnlyList<Leader> ByTokens,
    IReadOnlyList<Leader> ByLatency,
    IReadOnlyList<Leader> ByErrors,
    IReadOnlyList<Leader> ByErrorRate);

/// <summary>Rankings for the snapshot date and for the month to date, one entry per dimension (all traffic has no ranking).</summary>
public sealed record TopLeaders(IReadOnlyList<DimensionLeaders> Day, IReadOnlyList<DimensionLeaders> MonthToDate);
