using Microsoft.Extensions.Logging;

namespace Gateway.Core.Caching;

/// <summary>
/// A shared cache (Azure Storage, Redis) fronted by this instance's in-memory copy.
/// <list type="bullet">
/// <item>Get: the local copy first, then the shared store; a shared hit is copied locally for at most
/// <c>localCopy</c> (so an expiry or a replacement elsewhere is seen at most that late).</item>
/// <item>Set: both; the local copy lives at most <c>localCopy</c> and never beyond the entry's ttl.</item>
/// <item>A cache never fails a request: a shared store that throws (unreachable, timing out) is a miss on Get and is
/// ignored on Set. Failures are counted (<see cref="SharedFailures"/>) and logged by exception type only — never a
/// key, a value or a message that could carry a connection string — once when the store starts failing and once
/// when it answers again.</item>
/// </list>
/// </summary>
public sealed class TieredCacheStore : ICacheStore, ILocalCacheView, ICacheEntryRemoval
{
    private readonly ICacheStore _shared;
    private readonly InMemoryCacheStore _local;
    private readonly TimeSpan _localCopy;
    private readonly ILogger? _logger;
    private long _failures;
    private int _failing;

    public TieredCacheStore(ICacheStore shared, TimeProvider time, TimeSpan localCopy, int maxLocalEntries = 10_000, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(shared);
        ArgumentNullException.ThrowIfNull(time);
        _shared = shared;
        _local = new InMemoryCacheStore(time, maxLocalEntries);
        _localCopy = localCopy < TimeSpan.Zero ? TimeSpan.Zero : localCopy;
        _logger = logger;
    }

    /// <summary>Shared-store calls that threw (and were served as a miss, or skipped) since start.</summary>
    public long SharedFailures => Interlocked.Read(ref _failures);

    /// <summary>Entries in this instance's local copy (expired ones included until looked up).</summary>
    public int LocalCount => _local.Count;

    public CachedCompletion? GetLocal(string key) => _localCopy > TimeSpan.Zero ? _local.GetLocal(key) : null;

    public async ValueTask<CachedCompletion?> GetAsync(string key, CancellationToken cancellationToken)
    {
        if (_localCopy > TimeSpan.Zero && await _local.GetAsync(key, cancellationToken).ConfigureAwait(false) is { } local) return local;
        CachedCompletion? shared;
        try
        {
            shared = await _shared.GetAsync(key, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            Failed("get", ex);
            return null;
        }

        Succeeded();
        if (shared is not null && _localCopy > TimeSpan.Zero) await _local.SetAsync(key, shared, _localCopy, cancellationToken).ConfigureAwait(false);
        return shared;
    }

    public async ValueTask SetAsync(string key, CachedCompletion value, TimeSpan ttl, CancellationToken cancellationToken)
    {
        if (ttl <= TimeSpan.Zero) return;
        var localTtl = ttl < _localCopy ? ttl : _localCopy;
        if (localTtl > TimeSpan.Zero) await _local.SetAsync(key, value, localTtl, cancellationToken).ConfigureAwait(false);
        try
        {
            await _shared.SetAsync(key, value, ttl, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            Failed("set", ex);
            return;
        }

        Succeeded();
    }

    /// <summary>
    /// Removes the entry here and from the shared store. Unlike a lookup, a failure is not hidden: an erasure must know it
    /// did not happen. Other instances' local copies live on for at most their local-copy time.
    /// </summary>
    public async ValueTask<bool> RemoveAsync(string key, CancellationToken cancellationToken)
    {
        var local = await _local.RemoveAsync(key, cancellationToken).ConfigureAwait(false);
        var shared = _shared is ICacheEntryRemoval removal && await removal.RemoveAsync(key, cancellationToken).ConfigureAwait(false);
        return local || shared;
    }

    private void Failed(string operation, Exception ex)
    {
        Interlocked.Increment(ref _failures);
        if (Interlocked.Exchange(ref _failing, 1) == 0)
            _logger?.LogWarning("The shared response cache failed on {Operation} ({ErrorType}); lookups are misses and writes are skipped until it answers again.",
                operation, ex.GetType().Name);
    }

    private void Succeeded()
    {
        if (Interlocked.Exchange(ref _failing, 0) == 1) _logger?.LogInformation("The shared response cache answers again.");
    }
}
