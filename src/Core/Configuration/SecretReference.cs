namespace Gateway.Core.Configuration;

/// <summary>Resolves a named setting to its secret value; never logs or echoes the value.</summary>
public interface ISecretResolver
{
    /// <summary>The value of the setting, or null when it is not set.</summary>
    string? Resolve(string settingName);
}

/// <summary>Recognises Key Vault references that the platform has not resolved (they arrive as literal text).</summary>
public static class SecretReference
{
    public static bool IsUnresolvedKeyVaultReference(string? value) =>
        value is not null && value.StartsWith("@Microsoft.KeyVault(", StringComparison.OrdinalIgnoreCase);
}
