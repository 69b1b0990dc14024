namespace Gateway.Core.Entities;

/// <summary>Waiting on a task no longer than a deadline, without confusing the task's own failure with running out of time.</summary>
public static class Deadline
{
    /// <summary>
    /// The task's result if it completes within <paramref name="wait"/> (its exception if it fails), else
    /// <c>(false, default)</c>. Unlike <see cref="Task.WaitAsync(TimeSpan, TimeProvider)"/>, a task that fails with a
    /// <see cref="TimeoutException"/> of its own is not taken for the wait running out.
    /// </summary>
    public static async Task<(bool Completed, T? Result)> WaitAsync<T>(Task<T> task, TimeSpan wait, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (!task.IsCompleted)
        {
            if (wait <= TimeSpan.Zero) return (false, default);
            using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(wait, time, timer.Token);
            var first = await Task.WhenAny(task, delay).ConfigureAwait(false);
            await timer.CancelAsync().ConfigureAwait(false);
            if (first != task)
            {
                cancellationToken.ThrowIfCancellationRequested();
                return (false, default);
            }
        }

        return (true, await task.ConfigureAwait(false));
    }
}
