namespace Gateway.Core.Auth;

/// <summary>Persistence for gateway keys, addressed by the key's hash (lookups) and by id (admin).</summary>
public interface IKeyStore
{
    Task<GatewayKeyRecord?> FindByHashAsync(string hash, CancellationToken cancellationToken);
    /// <summary>Adds the record; returns false when a key with the same hash exists.</summary>
    Task<bool> AddAsync(GatewayKeyRecord record, CancellationToken cancellationToken);
    Task<IReadOnlyList<GatewayKeyRecord>> ListAsync(CancellationToken cancellationToken);
    /// <summary>Marks the key revoked; returns the updated record, or null when no key has that id.</summary>
    Task<GatewayKeyRecord?> RevokeAsync(string id, DateTimeOffset at, CancellationToken cancellationToken);
}
