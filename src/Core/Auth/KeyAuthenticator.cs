using System.Collections.Concurrent;
using Gateway.Core.Configuration;

namespace Gateway.Core.Auth;

/// <summary>
/// Turns a presented gateway key into a principal. Lookups are cached per instance for
/// <see cref="GatewayOptions.KeyCacheSeconds"/> (unknown keys for a fifth of that), so a revoke reaches
/// every instance within that time and immediately on the instance that revoked.
/// </summary>
public sealed class KeyAuthenticator
{
    private readonly IKeyStore _store;
    private readonly TimeProvider _time;
    private readonly TimeSpan _ttl;
    private readonly ConcurrentDictionary<string, (GatewayKeyRecord? Record, long ExpiresAt)> _cache = new(StringComparer.Ordinal);

    public KeyAuthenticator(IKeyStore store, GatewayOptions options, TimeProvider time)
    {
        _store = store;
        _time = time;
        _ttl = TimeSpan.FromSeconds(Math.Max(0, options.KeyCacheSeconds));
    }

    /// <summary>The principal for the key, or null for an unknown or revoked key.</summary>
    public async ValueTask<GatewayPrincipal?> AuthenticateAsync(string presentedKey, CancellationToken cancellationToken)
    {
        var hash = KeyHasher.Hash(presentedKey);
        var now = _time.GetTimestamp();
        if (_cache.TryGetValue(hash, out var cached) && cached.ExpiresAt > now)
            return cached.Record is { IsRevoked: false } r ? r.ToPrincipal() : null;

        var record = await _store.FindByHashAsync(hash, cancellationToken).ConfigureAwait(false);
        if (record is not null && !KeyHasher.HashEquals(record.Hash, hash)) record = null;
        var ttl = record is null ? _ttl / 5 : _ttl;
        if (ttl > TimeSpan.Zero)
        {
            if (_cache.Count > 100_000) _cache.Clear();
            _cache[hash] = (record, now + (long)(ttl.TotalSeconds * _time.TimestampFrequency));
        }
        return record is { IsRevoked: false } ? record.ToPrincipal() : null;
    }

    /// <summary>Drops a cached lookup (after a revoke on this instance).</summary>
    public void Invalidate(string hash) => _cache.TryRemove(hash, out _);
}
