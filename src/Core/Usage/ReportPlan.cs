namespace Gateway.Core.Usage;

/// <summary>A run of consecutive rollup buckets of one granularity: [FromKey, ToKey) as bucket keys.</summary>
public sealed record RollupSegment(Granularity Granularity, DateTimeOffset From, DateTimeOffset To)
{
    public string FromKey => UsageBuckets.Key(From, Granularity);

    /// <summary>Exclusive upper bound, as a bucket key of the same granularity.</summary>
    public string ToKey => UsageBuckets.Key(To, Granularity);
}

/// <summary>
/// Covers a time range exactly with the fewest rollup rows: whole months in the middle, whole days at the month
/// edges, whole hours at the day edges, 5-minute buckets at the hour edges. The range must lie on 5-minute boundaries (the finest rollup).
/// </summary>
public static class ReportPlan
{
    public static IReadOnlyList<RollupSegment> Cover(DateTimeOffset from, DateTimeOffset to, Granularity coarsest = Granularity.Month)
    {
        from = from.ToUniversalTime();
        to = to.ToUniversalTime();
        if (UsageBuckets.Floor(from, Granularity.FiveMinutes) != from || UsageBuckets.Floor(to, Granularity.FiveMinutes) != to)
        {
            throw new ArgumentException("from and to must be on 5-minute boundaries");
        }

        var segments = new List<RollupSegment>();
        if (to <= from) return segments;
        Cover(from, to, coarsest, segments);
        segments.Sort((a, b) => a.From.CompareTo(b.From));
        return segments;
    }

    private static void Cover(DateTimeOffset from, DateTimeOffset to, Granularity g, List<RollupSegment> segments)
    {
        if (from >= to) return;
        if (g == Granularity.FiveMinutes)
        {
            segments.Add(new RollupSegment(g, from, to));
            return;
        }

        var firstWhole = UsageBuckets.Floor(from, g) == from ? from : UsageBuckets.Next(UsageBuckets.Floor(from, g), g);
        var lastWhole = UsageBuckets.Floor(to, g);
        var finer = UsageBuckets.Finer(g);
        if (firstWhole >= lastWhole)
        {
            Cover(from, to, finer, segments);
            return;
        }

        Cover(from, firstWhole, finer, segments);
        segments.Add(new RollupSegment(g, firstWhole, lastWhole));
        Cover(lastWhole, to, finer, segments);
    }
}
