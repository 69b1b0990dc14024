using System.Collections.Concurrent;

namespace Gateway.Core.Auth;

/// <summary>A key store held in memory: for unit tests and benchmarks, where no Table Storage runs.</summary>
public sealed class InMemoryKeyStore : IKeyStore
{
    private readonly ConcurrentDictionary<string, GatewayKeyRecord> _byHash = new(StringComparer.Ordinal);

    public Task<GatewayKeyRecord?> FindByHashAsync(string hash, CancellationToken cancellationToken) =>
        Task.FromResult(_byHash.TryGetValue(hash, out var record) ? record : null);

    public Task<bool> AddAsync(GatewayKeyRecord record, CancellationToken cancellationToken) =>
        Task.FromResult(_byHash.TryAdd(record.Hash, record));

    public Task<IReadOnlyList<GatewayKeyRecord>> ListAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<GatewayKeyRecord>>(_byHash.Values.OrderBy(r => r.CreatedAt).ToList());

    public Task<GatewayKeyRecord?> RevokeAsync(string id, DateTimeOffset at, CancellationToken cancellationToken)
    {
        foreach (var (hash, record) in _byHash)
        {
            if (record.Id != id) continue;
            var revoked = record with { RevokedAt = record.RevokedAt ?? at };
            _byHash[hash] = revoked;
            return Task.FromResult<GatewayKeyRecord?>(revoked);
        }
        return Task.FromResult<GatewayKeyRecord?>(null);
    }
}
