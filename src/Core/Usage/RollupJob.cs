namespace Gateway.Core.Usage;

/// <summary>What one rollup run did.</summary>
public sealed record RollupRunResult(int Buckets, int Hours, int Days, int RowsWritten, int SkippedExpired, int LeftDirty);

/// <summary>
/// Folds new usage records into the 5-minute, hourly, daily and monthly rollups. Incremental: only buckets marked dirty by
/// the writer are recomputed. Idempotent: each affected bucket is recomputed from its source (raw records for
/// 5-minute rows, 5-minute rows for hours, hours for days, days for months) and replaced, never incremented, so a re-run — or a
/// run after a crash half-way — gives the same rows. Late records mark their old bucket dirty and are folded in
/// the same way. A mark is cleared only if no record arrived after it was read (version check).
/// </summary>
public sealed class RollupJob(IUsageRecordStore records, IRollupStore rollups, TimeProvider time, UsageRetentionOptions retention)
{
    /// <summary>Buckets (and hours, days) recomputed concurrently.</summary>
    public int Parallelism { get; init; } = 8;

    public async Task<RollupRunResult> RunAsync(CancellationToken cancellationToken)
    {
        var dirty = await records.ReadDirtyAsync(cancellationToken).ConfigureAwait(false);
        var rawCutoff = retention.RawCutoff(time.GetUtcNow());
        var hours = new SortedSet<DateTimeOffset>();
        var rowsWritten = 0;
        var skipped = 0;
        var processed = new List<DirtyBucket>();
        var live = new List<(DirtyBucket Bucket, DateTimeOffset Start)>();
        foreach (var bucket in dirty)
        {
            var start = UsageBuckets.Parse(bucket.BucketKey);
            processed.Add(bucket);
            if (start < rawCutoff)
            {
                // Its raw records are (being) deleted: recomputing would replace good rollups with partial ones.
                skipped++;
                continue;
            }

            live.Add((bucket, start));
            hours.Add(UsageBuckets.Floor(start, Granularity.Hour));
        }

        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(live, parallel, async (item, ct) =>
        {
            var list = new List<UsageRecord>();
            await foreach (var r in records.ReadBucketAsync(item.Bucket.BucketKey, ct).ConfigureAwait(false)) list.Add(r);
            var rows = UsageDimensions.Aggregate(list)
                .Select(kv => new RollupRow(Granularity.FiveMinutes, item.Start, kv.Key.Dimension, kv.Key.Value, kv.Value))
                .ToList();
            await rollups.UpsertAsync(rows, ct).ConfigureAwait(false);
            Interlocked.Add(ref rowsWritten, rows.Count);
        }).ConfigureAwait(false);

        // Hours only after all their 5-minute buckets, days only after all their hours.
        await Parallel.ForEachAsync(hours, parallel, async (hour, ct) =>
            Interlocked.Add(ref rowsWritten, await RecomputeAsync(Granularity.Hour, hour, Granularity.FiveMinutes, ct).ConfigureAwait(false))).ConfigureAwait(false);
        var days = new SortedSet<DateTimeOffset>(hours.Select(h => UsageBuckets.Floor(h, Granularity.Day)));
        await Parallel.ForEachAsync(days, parallel, async (day, ct) =>
            Interlocked.Add(ref rowsWritten, await RecomputeAsync(Granularity.Day, day, Granularity.Hour, ct).ConfigureAwait(false))).ConfigureAwait(false);
        var months = new SortedSet<DateTimeOffset>(days.Select(d => UsageBuckets.Floor(d, Granularity.Month)));
        await Parallel.ForEachAsync(months, parallel, async (month, ct) =>
            Interlocked.Add(ref rowsWritten, await RecomputeAsync(Granularity.Month, month, Granularity.Day, ct).ConfigureAwait(false))).ConfigureAwait(false);

        var leftDirty = 0;
        foreach (var bucket in processed)
        {
            if (!await records.ClearDirtyAsync(bucket, cancellationToken).ConfigureAwait(false)) leftDirty++;
        }

        return new RollupRunResult(live.Count, hours.Count, days.Count, rowsWritten, skipped, leftDirty);
    }

    private async Task<int> RecomputeAsync(Granularity target, DateTimeOffset start, Granularity source, CancellationToken cancellationToken)
    {
        var end = UsageBuckets.Next(start, target);
        var rows = new List<RollupRow>();
        foreach (var dimension in UsageDimensions.Names)
        {
            var sums = new Dictionary<string, UsageAggregate>(StringComparer.Ordinal);
            await foreach (var row in rollups.ReadAsync(source, dimension, start, end, null, cancellationToken).ConfigureAwait(false))
            {
                if (!sums.TryGetValue(row.Value, out var agg)) sums[row.Value] = agg = new UsageAggregate();
                agg.Add(row.Totals);
            }

            rows.AddRange(sums.Select(kv => new RollupRow(target, start, dimension, kv.Key, kv.Value)));
        }

        await rollups.UpsertAsync(rows, cancellationToken).ConfigureAwait(false);
        return rows.Count;
    }
}
