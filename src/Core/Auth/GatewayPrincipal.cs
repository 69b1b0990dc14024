namespace Gateway.Core.Auth;

/// <summary>Who is calling: the gateway key and the user and team it belongs to.</summary>
public sealed record GatewayPrincipal(
    string KeyId,
    string KeyName,
    string? User,
    string? Team,
    IReadOnlyList<string> AllowedModels,
    IReadOnlyDictionary<string, string> Tags);
