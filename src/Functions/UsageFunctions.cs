using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace Gateway.Functions;

/// <summary>The usage log's background work: the queue-triggered writer and the rollup and retention timers.</summary>
public sealed partial class UsageFunctions(UsageServices usage, ILogger<UsageFunctions> logger)
{
    /// <summary>The app setting holding the rollup timer's schedule (NCRONTAB; <c>0 */5 * * * *</c> in the templates).</summary>
    public const string RollupScheduleSetting = "GATEWAY_ROLLUP_SCHEDULE";

    /// <summary>The app setting holding the retention timer's schedule (<c>0 17 3 * * *</c> in the templates).</summary>
    public const string RetentionScheduleSetting = "GATEWAY_RETENTION_SCHEDULE";

    /// <summary>Writes usage records to Table Storage in batches (the trigger message plus whatever else is queued).
    /// Throwing leaves the messages to be delivered again; rewriting is idempotent.</summary>
    [Function("WriteUsage")]
    public async Task WriteUsage([QueueTrigger(UsageServices.Queue, Connection = "AzureWebJobsStorage")] string message, CancellationToken cancellationToken)
    {
        var result = await usage.Writer.ProcessAsync(message, cancellationToken).ConfigureAwait(false);
        Log.Written(logger, result.Written, result.Poisoned);
    }

    /// <summary>Every 5 minutes (setting <see cref="RollupScheduleSetting"/>): folds new records into the 5-minute, hourly and daily rollups.</summary>
    [Function("RollupUsage")]
    public async Task RollupUsage([TimerTrigger("%" + RollupScheduleSetting + "%")] TimerInfo timer, CancellationToken cancellationToken)
    {
        _ = timer;
        var result = await usage.RollupJob.RunAsync(cancellationToken).ConfigureAwait(false);
        Log.RolledUp(logger, result.Buckets, result.Hours, result.Days, result.RowsWritten, result.SkippedExpired, result.LeftDirty);
    }

    /// <summary>Daily at 03:17 UTC (setting <see cref="RetentionScheduleSetting"/>): deletes raw records and rollups past their retention.</summary>
    [Function("UsageRetention")]
    public async Task Retention([TimerTrigger("%" + RetentionScheduleSetting + "%")] TimerInfo timer, CancellationToken cancellationToken)
    {
        _ = timer;
        var result = await usage.RetentionJob.RunAsync(cancellationToken).ConfigureAwait(false);
        var content = await usage.ApplyContentRetentionAsync(cancellationToken).ConfigureAwait(false);
        if (content > 0) Log.ContentRetained(logger, content);
        Log.Retained(logger, result.RawDeleted, result.FiveMinuteRowsDeleted, result.HourRowsDeleted, result.DayRowsDeleted);
    }

    private static partial class Log
    {
        [LoggerMessage(3001, LogLevel.Information, "Usage writer: {Written} records written, {Poisoned} poisoned.")]
        public static partial void Written(ILogger logger, int written, int poisoned);

        [LoggerMessage(3002, LogLevel.Information, "Rollup: {Buckets} buckets, {Hours} hours, {Days} days, {Rows} rows; {Skipped} expired, {LeftDirty} left for the next run.")]
        public static partial void RolledUp(ILogger logger, int buckets, int hours, int days, int rows, int skipped, int leftDirty);

        [LoggerMessage(3004, LogLevel.Information, "Retention: deleted {Count} logged prompts and answers.")]
        public static partial void ContentRetained(ILogger logger, long count);

        [LoggerMessage(3003, LogLevel.Information, "Retention: deleted {Raw} raw records and {FiveMinute}/{Hour}/{Day} rollup rows.")]
        public static partial void Retained(ILogger logger, long raw, long fiveMinute, long hour, long day);
    }
}
