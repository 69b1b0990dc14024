using Gateway.Core.Usage;

namespace Gateway.Core.Analytics;

/// <summary>Top-N rankings per dimension over a range of days.</summary>
internal static class Leaderboard
{
    public static IReadOnlyList<DimensionLeaders> Rank(IEnumerable<ScopeSeries> series, DateOnly from, DateOnly to, int n, long minRequests)
    {
        var result = new List<DimensionLeaders>();
        foreach (var dimension in series.Where(s => s.Dimension != UsageDimensions.All).GroupBy(s => s.Dimension).OrderBy(g => ScopeSeries.DimensionOrder(g.Key)))
        {
            var leaders = dimension.Select(s => Leader(s.Value, s.Sum(from, to))).Where(l => l.Requests > 0).ToList();
            if (leaders.Count == 0) continue;
            result.Add(new DimensionLeaders(dimension.Key,
                Top(leaders.Where(l => l.CostUsd > 0), l => l.CostUsd, n),
                Top(leaders.Where(l => l.TotalTokens > 0), l => l.TotalTokens, n),
                Top(leaders.Where(l => l.Requests >= minRequests && l.MeanLatencyMs is not null), l => l.MeanLatencyMs!.Value, n),
                Top(leaders.Where(l => l.Errors > 0), l => l.Errors, n),
                Top(leaders.Where(l => l.Requests >= minRequests && l.Errors > 0), l => l.ErrorRate, n)));
        }

        return result;
    }

    private static Leader Leader(string value, UsageAggregate a) => new(value, a.CostUsd, a.Requests, a.TotalTokens, a.Errors,
        a.Requests == 0 ? 0 : Math.Round((double)a.Errors / a.Requests, 4),
        a.Requests == 0 ? null : Math.Round((double)a.LatencyMsTotal / a.Requests, 1));

    private static List<Leader> Top<TKey>(IEnumerable<Leader> leaders, Func<Leader, TKey> key, int n) =>
        [.. leaders.OrderByDescending(key).ThenBy(l => l.Value, StringComparer.Ordinal).Take(n)];
}
