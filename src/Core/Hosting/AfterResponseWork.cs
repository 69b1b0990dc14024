namespace Gateway.Core.Hosting;

/// <summary>
/// Work that runs after a response has gone to the client (usage records, settlements, refunds): started without
/// being awaited, so the client never waits for it, and tracked, so a shutdown waits for what is still running — and
/// for the requests still being answered, whose work is yet to come.
/// </summary>
public sealed class AfterResponseWork(Action<Exception>? onFailure = null)
{
    private readonly Lock _gate = new();
    private readonly HashSet<Task> _running = [];
    private int _requests;

    /// <summary>Requests being answered now.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Marks a request as being answered until the returned scope is disposed (a shutdown waits for it).</summary>
    public IDisposable BeginRequest()
    {
        Interlocked.Increment(ref _requests);
        return new RequestScope(this);
    }

    private sealed class RequestScope(AfterResponseWork owner) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) Interlocked.Decrement(ref owner._requests);
        }
    }

    /// <summary>Work still running.</summary>
    public int Running
    {
        get
        {
            lock (_gate) return _running.Count;
        }
    }

    /// <summary>Starts <paramref name="work"/> in the background.</summary>
    public void Run(Func<ValueTask> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        var task = Task.Run(async () =>
        {
            try
            {
                await work().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                onFailure?.Invoke(ex);
            }
        });
        lock (_gate) _running.Add(task);
        _ = task.ContinueWith(t =>
        {
            lock (_gate) _running.Remove(t);
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>
    /// Waits (at shutdown) for the requests being answered and then for the work started so far, at most until
    /// <paramref name="cancellationToken"/> fires.
    /// </summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (Volatile.Read(ref _requests) > 0) await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        Task[] running;
        lock (_gate) running = [.. _running];
        if (running.Length == 0) return;
        try
        {
            await Task.WhenAll(running).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
