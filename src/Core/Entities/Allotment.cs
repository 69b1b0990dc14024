namespace Gateway.Core.Entities;

/// <summary>What a shared counter answered to a take: granted (how much), or refused with when to retry.</summary>
public readonly record struct CounterGrant(bool Allowed, long Requests, long Tokens, TimeSpan? RetryAfter, bool Plenty);

/// <summary>
/// This instance's local share of one shared counter (a rate limit, a provider quota): capacity taken from the counter
/// in one round trip and spent here without one. Far from the counter's limit a batch is taken, and the next batch is
/// fetched in the background while this one still has a quarter left, so requests do not wait for it; near the limit
/// (the counter's last answer said so) each request is decided by the counter itself, concurrently, within the
/// request's admission window. A batch lives <c>lifetime</c>; what is left of it then is lost (counted as used).
/// </summary>
public sealed class Allotment(TimeProvider time, TimeSpan lifetime)
{
    private readonly Lock _gate = new();
    private long _requests;
    private long _tokens;
    private long _expiresAt;
    private long _grantedRequests;
    private long _grantedTokens;
    private bool _plenty = true;
    private Task<CounterGrant>? _fetch;

    /// <summary>What the local share still holds (nothing once it has expired).</summary>
    public (long Requests, long Tokens) Left
    {
        get
        {
            lock (_gate) return time.GetTimestamp() >= _expiresAt ? (0, 0) : (_requests, _tokens);
        }
    }

    /// <summary>Takes one request of <paramref name="tokens"/> from the local share, if it holds them.</summary>
    public bool TryTake(long tokens)
    {
        lock (_gate) return TryTakeLocked(tokens);
    }

    private bool TryTakeLocked(long tokens)
    {
        if (time.GetTimestamp() >= _expiresAt || _requests < 1 || _tokens < tokens) return false;
        _requests--;
        _tokens -= tokens;
        return true;
    }

    /// <summary>
    /// Admits one request: from the local share when it can, else by waiting (until <paramref name="deadline"/>, a
    /// timestamp) for a batch — <paramref name="fetchBatch"/> takes one for this request and the ones after it — or, near
    /// the limit, by <paramref name="askOne"/> for this request alone. Null when no answer came in time.
    /// </summary>
    public async Task<CounterGrant?> AdmitAsync(long tokens, long deadline, Func<Task<CounterGrant>> fetchBatch, Func<TimeSpan, Task<CounterGrant?>> askOne,
        CancellationToken cancellationToken)
    {
        for (var round = 0; round < 3; round++)
        {
            Task<CounterGrant> fetch;
            lock (_gate)
            {
                if (TryTakeLocked(tokens))
                {
                    PrefetchIfLowLocked(fetchBatch);
                    return new CounterGrant(true, 1, tokens, null, _plenty);
                }

                if (_fetch is null && !_plenty) break;
                fetch = _fetch ?? StartFetchLocked(fetchBatch);
            }

            var (completed, grant) = await Deadline.WaitAsync(fetch, Until(deadline), time, cancellationToken).ConfigureAwait(false);
            if (!completed) return null;
            if (!grant.Allowed) return grant;
        }

        return await askOne(Until(deadline)).ConfigureAwait(false);
    }

    private TimeSpan Until(long deadline) => TimeSpan.FromSeconds(Math.Max(0, (deadline - time.GetTimestamp()) / (double)time.TimestampFrequency));

    private void PrefetchIfLowLocked(Func<Task<CounterGrant>> fetchBatch)
    {
        if (_fetch is not null || !_plenty) return;
        var soon = (long)(lifetime.TotalSeconds * 0.3 * time.TimestampFrequency);
        if (_requests * 4 < _grantedRequests || _tokens * 4 < _grantedTokens || _expiresAt - time.GetTimestamp() < soon) StartFetchLocked(fetchBatch);
    }

    private Task<CounterGrant> StartFetchLocked(Func<Task<CounterGrant>> fetchBatch)
    {
        var task = FetchAsync(fetchBatch);
        if (!task.IsCompleted) _fetch = task;
        // a background fetch that fails is seen by the next request that needs it, not left unobserved
        _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        return task;
    }

    private async Task<CounterGrant> FetchAsync(Func<Task<CounterGrant>> fetchBatch)
    {
        await Task.Yield();
        try
        {
            var grant = await fetchBatch().ConfigureAwait(false);
            lock (_gate)
            {
                _plenty = grant.Plenty;
                if (grant.Allowed)
                {
                    // what is left of the previous batch stays usable with the new one
                    var now = time.GetTimestamp();
                    if (now >= _expiresAt) _requests = _tokens = 0;
                    _requests += grant.Requests;
                    _tokens += grant.Tokens;
                    _grantedRequests = grant.Requests;
                    _grantedTokens = grant.Tokens;
                    _expiresAt = now + (long)(lifetime.TotalSeconds * time.TimestampFrequency);
                }
            }

            return grant;
        }
        finally
        {
            lock (_gate) _fetch = null;
        }
    }

    /// <summary>Records the counter's latest answer on whether batches are worth taking (after a single ask).</summary>
    public void Observe(bool plenty)
    {
        lock (_gate) _plenty = plenty;
    }
}
