namespace Gateway.Core.Usage;

/// <summary>Where finished requests' usage records go (a queue in production). Called after the response is written.</summary>
public interface IUsageSink
{
    ValueTask SubmitAsync(UsageRecord record, CancellationToken cancellationToken);
}

/// <summary>Keeps records in memory: the default when no queue is configured (tests, benchmarks).</summary>
public sealed class InMemoryUsageSink : IUsageSink
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<UsageRecord> _records = new();

    public IReadOnlyList<UsageRecord> Records => [.. _records];

    public ValueTask SubmitAsync(UsageRecord record, CancellationToken cancellationToken)
    {
        _records.Enqueue(record);
        return ValueTask.CompletedTask;
    }
}

/// <summary>Discards records.</summary>
public sealed class NullUsageSink : IUsageSink
{
    public static readonly NullUsageSink Instance = new();

    public ValueTask SubmitAsync(UsageRecord record, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
