using System.Security.Cryptography;
using System.Text;
using Gateway.Core.Audit;
using Gateway.Core.Configuration;

namespace Gateway.Core.Privacy;

/// <summary>The pepper in force, and what to say about it at startup (a warning for the development pepper).</summary>
public sealed record PepperResolution(SubjectHasher? Hasher, string? Warning);

/// <summary>
/// Turns <c>Gateway:Privacy:Pepper</c> into the <see cref="SubjectHasher"/> every end-user hash is made with.
/// <list type="bullet">
/// <item>Set: used as it is (UTF-8), if at least <see cref="MinLength"/> characters; a Key Vault reference the platform
/// did not resolve stops startup rather than keying hashes with the reference's text.</item>
/// <item>Unset in the Development environment (as <see cref="DevKeyPolicy"/> decides it): a fixed development pepper,
/// so hashes stay stable across restarts on a developer's machine, with a warning that it is not a secret.</item>
/// <item>Unset anywhere else: none. Pseudonymous usage records then stop startup, and export and erasure answer
/// 403 <c>privacy_disabled</c> (they record audit events, whose subject must be a keyed hash).</item>
/// </list>
/// </summary>
public static class PrivacyPepper
{
    public const string Setting = "Gateway:Privacy:Pepper";
    public const int MinLength = 32;

    public static PepperResolution Resolve(string? pepper, Func<string, string?> setting)
    {
        ArgumentNullException.ThrowIfNull(setting);
        if (SecretReference.IsUnresolvedKeyVaultReference(pepper))
            throw new InvalidOperationException($"The setting {Setting} holds a Key Vault reference the platform did not resolve (check the app's identity has 'Key Vault Secrets User' on the vault).");
        if (!string.IsNullOrEmpty(pepper))
        {
            if (pepper.Length < MinLength) throw new InvalidOperationException($"The setting {Setting} must be at least {MinLength} characters (a random secret, e.g. openssl rand -base64 32).");
            return new PepperResolution(new SubjectHasher(Encoding.UTF8.GetBytes(pepper)), null);
        }

        if (!DevKeyPolicy.IsDevelopment(setting)) return new PepperResolution(null, null);
        var development = SHA256.HashData("llm-gateway development pepper: not a secret"u8);
        return new PepperResolution(new SubjectHasher(development),
            $"{Setting} is not set: end-user hashes use a fixed development pepper, which is not a secret. Set it (a Key Vault reference in Azure) before any real data is hashed.");
    }
}
