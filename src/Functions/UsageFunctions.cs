using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace Gateway.Functions;

/// <summary>The usage log's background work: the queue-triggered writer and the rollup and retention timers.</summary>
public sealed partial class UsageFunctions(UsageServices usage, ILogger<UsageFunctions> logger)
{
    /// <summary>Writes usage records to Table Storage in batches (the trigger message plus whatever else is queued).
    /// Throwing leaves the messages to be delivered again; rewriting is idempotent.</summary>
    [Function("WriteUsage")]
    public async Task WriteUsage([QueueTrigger(UsageServices.Queue, Connection = "AzureWebJobsStorage")] string message, CancellationToken cancellationToken)
    {
        var result = await usage.Writer.ProcessAsync(message, cancellationToken).ConfigureAwait(false);
        Log.Written(logger, result.Written, result.Poisoned);
    }

    /// <summary>Every 5 minutes: folds new records into the 5-minute, hourly and daily rollups.</summary>
    [Function("RollupUsage")]
    public async Task RollupUsage([TimerTrigger("0 */5 * * * *")] TimerInfo timer, CancellationToken cancellationToken)
    {
        _ = timer;
        var result = await usage.RollupJob.RunAsync(cancellationToken).ConfigureAwait(false);
        Log.RolledUp(logger, result.Buckets, result.Hours, result.Days, result.RowsWritten, result.SkippedExpired, result.LeftDirty);
    }

    /// <summary>Daily at 03:17 UTC: deletes raw records and rollups past their retention.</summary>
    [Function("UsageRetention")]
    public async Task Retention([TimerTrigger("0 17 3 * * *")] TimerInfo timer, CancellationToken cancellationToken)
    {
        _ = timer;
        var result = await usage.RetentionJob.RunAsync(cancellationToken).ConfigureAwait(false);
        Log.Retained(logger, result.RawDeleted, result.FiveMinuteRowsDeleted, result.HourRowsDeleted, result.DayRowsDeleted);
    }

    private static partial class Log
    {
        [LoggerMessage(3001, LogLevel.Information, "Usage writer: {Written} records written, {Poisoned} poisoned.")]
        public static partial void Written(ILogger logger, int written, int poisoned);

        [LoggerMessage(3002, LogLevel.Information, "Rollup: {Buckets} buckets, {Hours} hours, {Days} days, {Rows} rows; {Skipped} expired, {LeftDirty} left for the next run.")]
        public static partial void RolledUp(ILogger logger, int buckets, int hours, int days, int rows, int skipped, int leftDirty);

        [LoggerMessage(3003, LogLevel.Information, "Retention: deleted {Raw} raw records and {FiveMinute}/{Hour}/{Day} rollup rows.")]
        public static partial void Retained(ILogger logger, long raw, long fiveMinute, long hour, long day);
    }
}
