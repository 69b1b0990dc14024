namespace Gateway.Core.Entities;

/// <summary>What a shared counter answered to a take: granted (how much), or refused with when to retry.</summary>
public readonly record struct CounterGrant(bool Allowed, long Requests, long Tokens, TimeSpan? RetryAfter, bool Plenty);

/// <summary>
/// This instance's local share of one shared counter (a rate limit, a provider quota): capacity taken from the counter
/// in one round trip and spent here without one. Far from the counter's limit a batch is taken, and the next batch is
/// fetched in the background while this one still has a quarter left, so requests do not wait for it; near the limit
/// (the counter's last answer said so) each request is decided by the counter itself, concurrently, within the
/// request's admission window. A batch lives <c>lifetime</c>; what is left of it then is lost (counted as used), unless
/// the next batch arrives first and carries it on. Batches are sized to demand: after the first (which has no history
/// to go on), a fetch asks for <see cref="DemandFactor"/> × what this instance admitted per lifetime since the previous
/// fetch, so an idle or slow instance holds — and can lose — little, and a busy one does not drain a shared counter
/// with batches it cannot use (which would push every instance into one-at-a-time decisions long before the limit).
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
    private long _demandSince;
    private long _demandTaken;
    private bool _hasDemand;

    /// <summary>A batch is this many times the demand seen over one lifetime (room for growth between fetches).</summary>
    public const double DemandFactor = 1.5;

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
        lock (_gate)
        {
            if (!TryTakeLocked(tokens)) return false;
            _demandTaken++;
            return true;
        }
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
    /// timestamp) for a batch — <paramref name="fetchBatch"/> takes one for this request and the ones after it, given
    /// how many requests the batch should hold (null: no history yet, take the usual share) — or, near the limit, by
    /// <paramref name="askOne"/> for this request alone. Null when no answer came in time.
    /// </summary>
    public async Task<CounterGrant?> AdmitAsync(long tokens, long deadline, Func<long?, Task<CounterGrant>> fetchBatch, Func<TimeSpan, Task<CounterGrant?>> askOne,
        CancellationToken cancellationToken)
    {
        lock (_gate) _demandTaken++; // every request counts, admitted here or waiting for a batch
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

    private void PrefetchIfLowLocked(Func<long?, Task<CounterGrant>> fetchBatch)
    {
        if (_fetch is not null || !_plenty) return;
        var soon = (long)(lifetime.TotalSeconds * 0.3 * time.TimestampFrequency);
        if (_requests * 4 < _grantedRequests || _tokens * 4 < _grantedTokens || _expiresAt - time.GetTimestamp() < soon) StartFetchLocked(fetchBatch);
    }

    private Task<CounterGrant> StartFetchLocked(Func<long?, Task<CounterGrant>> fetchBatch)
    {
        var task = FetchAsync(fetchBatch, DemandLocked());
        if (!task.IsCompleted) _fetch = task;
        // a background fetch that fails is seen by the next request that needs it, not left unobserved
        _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        return task;
    }

    /// <summary>
    /// Requests the next batch should hold: <see cref="DemandFactor"/> × the rate admitted here since the previous fetch,
    /// over one lifetime, plus the request asking; null before the first fetch. Starts the next measurement.
    /// </summary>
    private long? DemandLocked()
    {
        var now = time.GetTimestamp();
        long? demand = null;
        if (_hasDemand)
        {
            var seconds = Math.Max((now - _demandSince) / (double)time.TimestampFrequency, lifetime.TotalSeconds / 20);
            demand = 1 + (long)Math.Ceiling(_demandTaken / seconds * lifetime.TotalSeconds * DemandFactor);
        }

        _hasDemand = true;
        _demandSince = now;
        _demandTaken = 0;
        return demand;
    }

    private async Task<CounterGrant> FetchAsync(Func<long?, Task<CounterGrant>> fetchBatch, long? demand)
    {
        await Task.Yield();
        try
        {
            var grant = await fetchBatch(demand).ConfigureAwait(false);
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
