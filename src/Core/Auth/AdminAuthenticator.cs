using Gateway.Core.Configuration;

namespace Gateway.Core.Auth;

/// <summary>Checks the admin key in constant time; the admin API is off when no admin key is configured.</summary>
public sealed class AdminAuthenticator(GatewayOptions options)
{
    private readonly string? _hash = string.IsNullOrEmpty(options.AdminKey) || SecretReference.IsUnresolvedKeyVaultReference(options.AdminKey)
        ? null : KeyHasher.Hash(options.AdminKey);

    public void Demand(string? presentedKey)
    {
        if (_hash is null) throw Errors.Errors.AdminDisabled();
        if (string.IsNullOrEmpty(presentedKey) || !KeyHasher.HashEquals(_hash, KeyHasher.Hash(presentedKey))) throw Errors.Errors.InvalidAdminKey();
    }
}
