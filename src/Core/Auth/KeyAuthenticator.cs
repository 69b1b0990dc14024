using System.Collections.Concurrent;
using Gateway.Core.Configuration;

namespace Gateway.Core.Auth;

/// <summary>
/// Turns a presented gateway key into a principal. Lookups are cached per instance for
/// <see cref="GatewayOptions.KeyCacheSeconds"/> (unknown keys for a fifth of that), so a revoke reaches
/// every instance within that time and immediately on the instance that revoked.
/// </summary>
/// <remarks>
/// A flood of unknown keys (random or guessed) can neither evict the keys in use nor turn every request into a
/// storage read: known keys and unknown ones are cached apart, each bounded on its own (an overflow of unknown keys
/// clears only them), and lookups of keys this instance has not seen are budgeted — at most
/// <see cref="UnknownLookupBurst"/> at once, refilled at <see cref="UnknownLookupsPerSecond"/>. Past the budget such a
/// key is answered 429 with Retry-After 1 (not 401: it may be a real key this instance has not met yet), without a
/// read. Keys already known are re-read when their cache entry expires whatever the budget, so a revoke still arrives.
/// </remarks>
public sealed class KeyAuthenticator
{
    /// <summary>Lookups of keys this instance has not seen, per second, once the burst is spent.</summary>
    public const double UnknownLookupsPerSecond = 200;
    /// <summary>Lookups of unseen keys allowed at once.</summary>
    public const double UnknownLookupBurst = 500;
    private const int MaxKnown = 100_000;
    private const int MaxUnknown = 20_000;

    private readonly IKeyStore _store;
    private readonly TimeProvider _time;
    private readonly TimeSpan _ttl;
    private readonly ConcurrentDictionary<string, (GatewayKeyRecord Record, long ExpiresAt)> _known = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _unknown = new(StringComparer.Ordinal);
    private readonly Lock _budgetGate = new();
    private double _budget = UnknownLookupBurst;
    private long _budgetAt;

    public KeyAuthenticator(IKeyStore store, GatewayOptions options, TimeProvider time)
    {
        _store = store;
        _time = time;
        _ttl = TimeSpan.FromSeconds(Math.Max(0, options.KeyCacheSeconds));
        _budgetAt = time.GetTimestamp();
    }

    /// <summary>The principal for the key, or null for an unknown or revoked key.</summary>
    public async ValueTask<GatewayPrincipal?> AuthenticateAsync(string presentedKey, CancellationToken cancellationToken)
    {
        var hash = KeyHasher.Hash(presentedKey);
        var now = _time.GetTimestamp();
        var seen = _known.TryGetValue(hash, out var cached);
        if (seen && cached.ExpiresAt > now) return cached.Record is { IsRevoked: false } r ? r.ToPrincipal() : null;
        if (!seen)
        {
            if (_unknown.TryGetValue(hash, out var unknownUntil) && unknownUntil > now) return null;
            if (!TakeLookup(now)) throw Errors.Errors.TooManyUnknownKeys();
        }

        var record = await _store.FindByHashAsync(hash, cancellationToken).ConfigureAwait(false);
        if (record is not null && !KeyHasher.HashEquals(record.Hash, hash)) record = null;
        if (record is null)
        {
            _known.TryRemove(hash, out _);
            var ttl = _ttl / 5;
            if (ttl > TimeSpan.Zero)
            {
                if (_unknown.Count >= MaxUnknown) _unknown.Clear();
                _unknown[hash] = now + (long)(ttl.TotalSeconds * _time.TimestampFrequency);
            }

            return null;
        }

        _unknown.TryRemove(hash, out _);
        if (_ttl > TimeSpan.Zero)
        {
            if (_known.Count >= MaxKnown && !seen) _known.Clear();
            _known[hash] = (record, now + (long)(_ttl.TotalSeconds * _time.TimestampFrequency));
        }

        return record.IsRevoked ? null : record.ToPrincipal();
    }

    private bool TakeLookup(long now)
    {
        lock (_budgetGate)
        {
            var elapsed = (now - _budgetAt) / (double)_time.TimestampFrequency;
            _budgetAt = now;
            _budget = Math.Min(UnknownLookupBurst, _budget + (Math.Max(0, elapsed) * UnknownLookupsPerSecond));
            if (_budget < 1) return false;
            _budget--;
            return true;
        }
    }

    /// <summary>Drops a cached lookup (after a revoke on this instance).</summary>
    public void Invalidate(string hash)
    {
        _known.TryRemove(hash, out _);
        _unknown.TryRemove(hash, out _);
    }
}
