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

    public UsageServices(StorageConnection storage, GatewayOptions options, TimeProvider time)
    {
        Records = new TableUsageStore(storage.Table(RecordsTable), storage.Table(DirtyTable));
        Rollups = new TableRollupStore(storage.Table(RollupsTable));
        Sink = new QueueUsageSink(storage.Queue(Queue));
        Writer = new UsageQueueWriter(storage.Queue(Queue), storage.Queue(PoisonQueue), Records, new UsageWriterOptions());
        RollupJob = new RollupJob(Records, Rollups, time, options.Usage);
        RetentionJob = new RetentionJob(Records, Rollups, time, options.Usage);
        Reports = new UsageReportService(Rollups, time, options.Usage);
    }

    public TableUsageStore Records { get; }
    public TableRollupStore Rollups { get; }
    public IUsageSink Sink { get; }
    public UsageQueueWriter Writer { get; }
    public RollupJob RollupJob { get; }
    public RetentionJob RetentionJob { get; }
    public UsageReportService Reports { get; }
}
