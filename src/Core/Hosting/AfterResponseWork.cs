namespace Gateway.Core.Hosting;

/// <summary>
/// Work that runs after a response has gone to the client (usage records, settlements, refunds): started without
/// being awaited, so the client never waits for it, and tracked, so a shutdown waits for what is still running.
/// </summary>
public sealed class AfterResponseWork(Action<Exception>? onFailure = null)
{
    private readonly Lock _gate = new();
    private readonly HashSet<Task> _running = [];

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

    /// <summary>Waits for the work started so far (at shutdown), at most until <paramref name="cancellationToken"/> fires.</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
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
