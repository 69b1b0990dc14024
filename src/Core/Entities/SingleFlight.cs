namespace Gateway.Core.Entities;

/// <summary>
/// A read shared by everyone who needs it at once (the budget directory, the stop list): callers that ask while a read
/// is in flight join it instead of queueing their own — unless it began before the last <see cref="Invalidate"/>, whose
/// caller needs a read that sees its change. A caller's cancellation never cancels the shared read.
/// </summary>
public sealed class SingleFlight<T>(Func<CancellationToken, Task<T>> load, TimeProvider time)
{
    private readonly Lock _gate = new();
    private Task<T>? _inflight;
    private long _inflightStarted;
    private long _invalidatedAt;

    /// <summary>Reads started from now on see everything changed before this call.</summary>
    public void Invalidate()
    {
        lock (_gate) _invalidatedAt = time.GetTimestamp();
    }

    public Task<T> RunAsync(CancellationToken cancellationToken)
    {
        Task<T> task;
        lock (_gate)
        {
            if (_inflight is not { IsCompleted: false } || _inflightStarted < _invalidatedAt)
            {
                _inflightStarted = time.GetTimestamp();
                // started here: a store that answers synchronously (memory) answers this caller synchronously
                _inflight = load(CancellationToken.None);
            }

            task = _inflight;
        }

        return task.WaitAsync(cancellationToken);
    }
}
