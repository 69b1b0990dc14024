using Gateway.Core.Configuration;
using Gateway.Core.Usage;
using Gateway.Storage;

namespace Gateway.Functions;

/// <summary>The usage log's storage and jobs, built from the storage connection and settings.</summary>
public sealed class UsageServices
{
    public const string Queue = "usage-records";
    public const string PoisonQueue = "usage-records-poison";
    public const string RecordsTable = "usagerecords";
    public const string DirtyTable = "usagedirty";
    public const string RollupsTable = "usagerollups";

    /// <param name="prefix">Prefixes every table and queue name (tests isolate themselves with it; lower-case letters and digits).</param>
    public UsageServices(StorageConnection storage, GatewayOptions options, TimeProvider time, string prefix = "")
    {
        Records = new TableUsageStore(storage.Table(prefix + RecordsTable), storage.Table(prefix + DirtyTable));
        Rollups = new TableRollupStore(storage.Table(prefix + RollupsTable));
        QueueClient = storage.Queue(prefix + Queue);
        Sink = new QueueUsageSink(QueueClient);
        Writer = new UsageQueueWriter(QueueClient, storage.Queue(prefix + PoisonQueue), Records, new UsageWriterOptions());
        RollupJob = new RollupJob(Records, Rollups, time, options.Usage);
        RetentionJob = new RetentionJob(Records, Rollups, time, options.Usage);
        Reports = new UsageReportService(Rollups, time, options.Usage);
    }

    public TableUsageStore Records { get; }
    public TableRollupStore Rollups { get; }
    public IUsageSink Sink { get; }
    public Azure.Storage.Queues.QueueClient QueueClient { get; }
    public UsageQueueWriter Writer { get; }
    public RollupJob RollupJob { get; }
    public RetentionJob RetentionJob { get; }
    public UsageReportService Reports { get; }
}
