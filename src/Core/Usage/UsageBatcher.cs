namespace Gateway.Core.Usage;

/// <summary>Sends a batch of items to a queue (in as many messages as their size needs).</summary>
public interface IBatchSender<in T>
{
    /// <summary>Returns once every item is durably queued; throws when the queue cannot be reached.</summary>
    Task SendAsync(IReadOnlyList<T> items, CancellationToken cancellationToken);
}

/// <summary>Sends a batch of usage records to the usage log's queue.</summary>
public interface IUsageBatchSender : IBatchSender<UsageRecord>;

/// <summary>How usage records are batched on their way to the queue (section <c>Gateway:Usage:Batching</c>).</summary>
public sealed class UsageBatchingOptions
{
    /// <summary>Records wait at most this long in memory before they are sent: the loss window if the process dies.</summary>
    public double FlushSeconds { get; set; } = 1;

    /// <summary>At most this many records per send (the sender splits them into messages by size).</summary>
    public int MaxRecordsPerSend { get; set; } = 1000;

    /// <summary>While the queue cannot be reached records are kept, up to this many; beyond it new records are dropped
    /// (counted and logged). At 1,000 requests/s this rides out 100 s of storage outage.</summary>
    public int MaxSpooledRecords { get; set; } = 100_000;

    /// <summary>The longest pause between attempts while the queue cannot be reached.</summary>
    public double MaxRetrySeconds { get; set; } = 5;
}

/// <summary>
/// Collects items (usage records, audit events) in memory and sends them in batches — every
/// <see cref="UsageBatchingOptions.FlushSeconds"/> and at shutdown — instead of one queue message per item, so the
/// request path pays for an append to a list. When the queue cannot be reached the items stay spooled, in order, and
/// are sent once it can (bounded by <see cref="UsageBatchingOptions.MaxSpooledRecords"/>). Items are only dropped from
/// memory once sent; the writers downstream are idempotent (by request id, by event id), so a batch sent twice (a send
/// that failed after it was queued) is written once.
/// </summary>
public class SpoolingBatcher<T> : IAsyncDisposable
{
    private readonly IBatchSender<T> _sender;
    private readonly TimeProvider _time;
    private readonly UsageBatchingOptions _options;
    private readonly Action<int>? _onDropped;
    private readonly Action<Exception>? _onSendFailed;
    private readonly Lock _gate = new();
    private readonly List<T> _spool = [];
    private readonly SemaphoreSlim _flushGate = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    private long _dropped;

    public SpoolingBatcher(IBatchSender<T> sender, TimeProvider time, UsageBatchingOptions options, Action<int>? onDropped = null, Action<Exception>? onSendFailed = null)
    {
        _sender = sender;
        _time = time;
        _options = options;
        _onDropped = onDropped;
        _onSendFailed = onSendFailed;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Items waiting to be sent.</summary>
    public int Spooled
    {
        get
        {
            lock (_gate) return _spool.Count;
        }
    }

    /// <summary>Items dropped because the spool was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Spools an item to be sent with the next batch (dropped, counted, when the spool is full).</summary>
    protected void Add(T item)
    {
        lock (_gate)
        {
            if (_spool.Count < _options.MaxSpooledRecords)
            {
                _spool.Add(item);
                return;
            }
        }

        Interlocked.Increment(ref _dropped);
        _onDropped?.Invoke(1);
    }

    private async Task RunAsync()
    {
        var pause = TimeSpan.FromSeconds(Math.Max(0.01, _options.FlushSeconds));
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(pause, _time, _stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                await FlushAsync(_stopping.Token).ConfigureAwait(false);
                pause = TimeSpan.FromSeconds(Math.Max(0.01, _options.FlushSeconds));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _onSendFailed?.Invoke(ex);
                // the queue is unreachable: the records stay spooled and the next attempt waits longer
                pause = TimeSpan.FromSeconds(Math.Min(_options.MaxRetrySeconds, Math.Max(pause.TotalSeconds * 2, _options.FlushSeconds)));
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Sends everything spooled now, oldest first; throws (keeping what was not sent) when the queue cannot be reached.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _flushGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (true)
            {
                T[] batch;
                lock (_gate)
                {
                    if (_spool.Count == 0) return;
                    batch = [.. _spool.Take(Math.Max(1, _options.MaxRecordsPerSend))];
                }

                await _sender.SendAsync(batch, cancellationToken).ConfigureAwait(false);
                // only this loop removes records, so the first batch.Length are still the ones just sent
                lock (_gate) _spool.RemoveRange(0, batch.Length);
            }
        }
        finally
        {
            _flushGate.Release();
        }
    }

    /// <summary>At shutdown: stops the timer and sends what is left (until <paramref name="cancellationToken"/> fires).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        await FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _flushGate.Dispose();
        _stopping.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>Finished requests' usage records, batched onto the usage queue.</summary>
public sealed class UsageBatcher(IUsageBatchSender sender, TimeProvider time, UsageBatchingOptions options, Action<int>? onDropped = null, Action<Exception>? onSendFailed = null)
    : SpoolingBatcher<UsageRecord>(sender, time, options, onDropped, onSendFailed), IUsageSink
{
    public ValueTask SubmitAsync(UsageRecord record, CancellationToken cancellationToken)
    {
        Add(record);
        return ValueTask.CompletedTask;
    }
}
