namespace Gateway.Core.Usage;

/// <summary>A 5-minute bucket that has new raw records since its rollups were last computed.</summary>
public sealed record DirtyBucket(string BucketKey, string Version);

/// <summary>One rollup row: the sums for one (dimension, value) over one bucket.</summary>
public sealed record RollupRow(Granularity Granularity, DateTimeOffset Start, string Dimension, string Value, UsageAggregate Totals);

/// <summary>The raw usage log (Table Storage in production).</summary>
public interface IUsageRecordStore
{
    /// <summary>Writes records idempotently (the request id is the key: writing a record twice leaves one row) and
    /// marks their 5-minute buckets for the rollup job. Returns once everything is durable.</summary>
    Task WriteAsync(IReadOnlyList<UsageRecord> batch, CancellationToken cancellationToken);

    IAsyncEnumerable<UsageRecord> ReadBucketAsync(string fiveMinuteKey, CancellationToken cancellationToken);

    /// <summary>Records with <c>from ≤ At &lt; to</c>, in bucket order, streamed.</summary>
    IAsyncEnumerable<UsageRecord> ReadRangeAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken);

    Task<IReadOnlyList<DirtyBucket>> ReadDirtyAsync(CancellationToken cancellationToken);

    /// <summary>Clears a mark only if nobody re-marked it since it was read; false otherwise.</summary>
    Task<bool> ClearDirtyAsync(DirtyBucket bucket, CancellationToken cancellationToken);

    /// <summary>Deletes every record in buckets that start before <paramref name="cutoff"/>; returns how many.</summary>
    Task<long> DeleteBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken);
}

/// <summary>Rollups by granularity, dimension, bucket and value.</summary>
public interface IRollupStore
{
    Task UpsertAsync(IReadOnlyList<RollupRow> rows, CancellationToken cancellationToken);

    /// <summary>Rows of one granularity and dimension with <c>from ≤ Start &lt; to</c>, optionally for one value.</summary>
    IAsyncEnumerable<RollupRow> ReadAsync(Granularity granularity, string dimension, DateTimeOffset from, DateTimeOffset to, string? value, CancellationToken cancellationToken);

    /// <summary>Deletes rows of a granularity whose bucket starts before the cutoff; returns how many.</summary>
    Task<long> DeleteBeforeAsync(Granularity granularity, DateTimeOffset cutoff, CancellationToken cancellationToken);
}
