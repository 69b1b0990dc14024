namespace Gateway.Core.Auth;

/// <summary>A stored gateway key: its SHA-256 hash and its principal, never the key itself.</summary>
public sealed record GatewayKeyRecord(
    string Id,
    string Hash,
    string Prefix,
    string Name,
    string? User,
    string? Team,
    IReadOnlyList<string> AllowedModels,
    IReadOnlyDictionary<string, string> Tags,
    DateTimeOffset CreatedAt,
    DateTimeOffset? RevokedAt = null)
{
    public bool IsRevoked => RevokedAt is not null;

    public GatewayPrincipal ToPrincipal() => new(Id, Name, User, Team, AllowedModels, Tags);
}
