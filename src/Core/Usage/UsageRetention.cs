namespace Gateway.Core.Usage;

/// <summary>How long usage data is kept (setting section <c>Gateway:Usage</c>).</summary>
public sealed class UsageRetentionOptions
{
    /// <summary>Raw per-request records older than this are deleted (and exports no longer see them).</summary>
    public int RawRetentionDays { get; set; } = 90;

    /// <summary>5-minute rollups are only needed for recent, fine-grained reports.</summary>
    public int FiveMinuteRollupRetentionDays { get; set; } = 31;

    /// <summary>Hourly, daily and monthly rollups (what reports over long ranges read). A month is kept until its
    /// start is older than this.</summary>
    public int RollupRetentionDays { get; set; } = 760;

    /// <summary>How records are batched on their way to the usage queue (section <c>Gateway:Usage:Batching</c>).</summary>
    public UsageBatchingOptions Batching { get; set; } = new();

    /// <summary>The start of the oldest 5-minute bucket still inside the raw window. Buckets that start before it are
    /// deleted; everything inside the window is kept (the cutoff is rounded down, never up).</summary>
    public DateTimeOffset RawCutoff(DateTimeOffset now) => UsageBuckets.Floor(now - TimeSpan.FromDays(RawRetentionDays), Granularity.FiveMinutes);

    public DateTimeOffset RollupCutoff(DateTimeOffset now, Granularity granularity) =>
        UsageBuckets.Floor(now - TimeSpan.FromDays(granularity == Granularity.FiveMinutes ? FiveMinuteRollupRetentionDays : RollupRetentionDays), granularity);

    public IEnumerable<string> Validate()
    {
        if (RawRetentionDays < 1) yield return "Gateway:Usage:RawRetentionDays must be at least 1";
        if (FiveMinuteRollupRetentionDays < 1) yield return "Gateway:Usage:FiveMinuteRollupRetentionDays must be at least 1";
        if (RollupRetentionDays < RawRetentionDays) yield return "Gateway:Usage:RollupRetentionDays must be at least RawRetentionDays";
    }
}

public sealed record RetentionRunResult(long RawDeleted, long FiveMinuteRowsDeleted, long HourRowsDeleted, long DayRowsDeleted);

/// <summary>Deletes raw records and rollups older than their retention; nothing inside a window is touched.</summary>
public sealed class RetentionJob(IUsageRecordStore records, IRollupStore rollups, TimeProvider time, UsageRetentionOptions options)
{
    public async Task<RetentionRunResult> RunAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var raw = await records.DeleteBeforeAsync(options.RawCutoff(now), cancellationToken).ConfigureAwait(false);
        var m = await rollups.DeleteBeforeAsync(Granularity.FiveMinutes, options.RollupCutoff(now, Granularity.FiveMinutes), cancellationToken).ConfigureAwait(false);
        var h = await rollups.DeleteBeforeAsync(Granularity.Hour, options.RollupCutoff(now, Granularity.Hour), cancellationToken).ConfigureAwait(false);
        var d = await rollups.DeleteBeforeAsync(Granularity.Day, options.RollupCutoff(now, Granularity.Day), cancellationToken).ConfigureAwait(false);
        d += await rollups.DeleteBeforeAsync(Granularity.Month, options.RollupCutoff(now, Granularity.Month), cancellationToken).ConfigureAwait(false);
        return new RetentionRunResult(raw, m, h, d);
    }
}
