using Gateway.Core.Configuration;
using Gateway.Core.Privacy;
using Gateway.Core.Telemetry;
using Gateway.Core.Usage;
using Gateway.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Functions;

/// <summary>The usage log's storage and jobs, built from the storage connection and settings.</summary>
public sealed partial class UsageServices
{
    public const string Queue = "usage-records";
    public const string PoisonQueue = "usage-records-poison";
    public const string RecordsTable = "usagerecords";
    public const string DirtyTable = "usagedirty";
    public const string RollupsTable = "usagerollups";
    /// <summary>The per-user index of the usage log (<see cref="TableUserIndex"/>).</summary>
    public const string UsersTable = "usageusers";

    /// <summary>Logged prompts and answers, where content logging is on (<see cref="TableContentLogStore"/>).</summary>
    public const string ContentTable = "contentlog";

    private readonly ILogger _logger;
    private readonly TimeSpan _contentRetention;
    private readonly TimeProvider _time;

    /// <param name="prefix">Prefixes every table and queue name (tests isolate themselves with it; lower-case letters and digits).</param>
    public UsageServices(StorageConnection storage, GatewayOptions options, TimeProvider time, ILoggerFactory? logging = null, GatewayMetrics? metrics = null, string prefix = "")
    {
        _logger = (logging ?? NullLoggerFactory.Instance).CreateLogger("Gateway.Usage");
        Users = new TableUserIndex(storage.Table(prefix + UsersTable));
        Records = new TableUsageStore(storage.Table(prefix + RecordsTable), storage.Table(prefix + DirtyTable), users: Users);
        Rollups = new TableRollupStore(storage.Table(prefix + RollupsTable), message => LogQuarantined(_logger, message), Users);
        QueueClient = storage.Queue(prefix + Queue);
        Batcher = new UsageBatcher(new QueueUsageBatchSender(QueueClient), time, options.Usage.Batching,
            dropped =>
            {
                metrics?.RecordUsageDropped(dropped);
                LogDropped(_logger, dropped, options.Usage.Batching.MaxSpooledRecords);
            },
            ex => LogSendFailed(_logger, ex));
        Writer = new UsageQueueWriter(QueueClient, storage.Queue(prefix + PoisonQueue), Records, new UsageWriterOptions(), message => LogQuarantined(_logger, message));
        Content = new TableContentLogStore(storage.Table(prefix + ContentTable));
        ContentBatcher = new ContentLogBatcher(Content, time, options.Usage.Batching,
            dropped => LogContentDropped(_logger, dropped), ex => LogContentSendFailed(_logger, ex));
        _contentRetention = TimeSpan.FromDays(options.Privacy.ContentLogging.RetentionDays);
        _time = time;
        RollupJob = new RollupJob(Records, Rollups, time, options.Usage);
        RetentionJob = new RetentionJob(Records, Rollups, time, options.Usage);
        Reports = new UsageReportService(Rollups, time, options.Usage);
    }

    public TableUserIndex Users { get; }
    public TableUsageStore Records { get; }
    public TableRollupStore Rollups { get; }
    /// <summary>Where the pipeline's usage records go: batched in memory, sent to the usage queue every second.</summary>
    public UsageBatcher Batcher { get; }
    public IUsageSink Sink => Batcher;
    public Azure.Storage.Queues.QueueClient QueueClient { get; }
    public UsageQueueWriter Writer { get; }
    /// <summary>Logged content (redacted prompts and answers), by end user.</summary>
    public TableContentLogStore Content { get; }
    /// <summary>Where the pipeline's logged content goes: batched, written to the content table every second.</summary>
    public ContentLogBatcher ContentBatcher { get; }

    /// <summary>Deletes logged content past its own retention (<c>Gateway:Privacy:ContentLogging:RetentionDays</c>); returns how many entries.</summary>
    public Task<long> ApplyContentRetentionAsync(CancellationToken cancellationToken) => Content.DeleteBeforeAsync(_time.GetUtcNow() - _contentRetention, cancellationToken);
    public RollupJob RollupJob { get; }
    public RetentionJob RetentionJob { get; }
    public UsageReportService Reports { get; }

    [LoggerMessage(3104, LogLevel.Error, "Content log: {Count} entries dropped: the content table has been unreachable long enough to fill the spool.")]
    private static partial void LogContentDropped(ILogger logger, int count);

    [LoggerMessage(3105, LogLevel.Warning, "Content log: the content table could not be reached; the entries stay spooled and are written again.")]
    private static partial void LogContentSendFailed(ILogger logger, Exception exception);

    [LoggerMessage(3101, LogLevel.Warning, "Usage: {Message}.")]
    private static partial void LogQuarantined(ILogger logger, string message);

    [LoggerMessage(3102, LogLevel.Error, "Usage: {Count} records dropped: the usage queue has been unreachable long enough to fill the spool ({Limit} records).")]
    private static partial void LogDropped(ILogger logger, int count, int limit);

    [LoggerMessage(3103, LogLevel.Warning, "Usage: the usage queue could not be reached; the records stay spooled and are sent again.")]
    private static partial void LogSendFailed(ILogger logger, Exception exception);
}
