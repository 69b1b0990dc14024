using Gateway.Core.Usage;

namespace Gateway.Core.Audit;

/// <summary>Section <c>Gateway:Audit</c>: how audit events are batched, sealed and kept.</summary>
public sealed class AuditOptions
{
    /// <summary>How events are batched on their way to the <c>audit-events</c> queue (section <c>Gateway:Audit:Batching</c>).</summary>
    public UsageBatchingOptions Batching { get; set; } = new();

    /// <summary>The writer seals a checkpoint as soon as this many entries are unsealed (the sealing timer seals the rest).</summary>
    public int SealEveryEntries { get; set; } = 1000;

    /// <summary>Sealed segments whose last entry is older than this are deleted whole (0 keeps everything).</summary>
    public int RetentionDays { get; set; } = 400;

    /// <summary>
    /// The local ECDSA P-256 private key (PEM) checkpoints are signed with when no Key Vault key is configured; created
    /// when missing. A relative path is under the user's local application data (<c>~/.local/share</c>), never the app's
    /// own folder: the Functions host restarts when a file appears there (and in Azure that folder is read-only).
    /// </summary>
    public string SigningKeyPath { get; set; } = "llm-gateway/audit-signing-key.pem";

    /// <summary>Where <see cref="SigningKeyPath"/> points: itself when absolute, else under the local application data folder (the temp folder without one).</summary>
    public string SigningKeyFullPath()
    {
        if (Path.IsPathRooted(SigningKeyPath)) return SigningKeyPath;
        var data = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        return Path.GetFullPath(Path.Combine(string.IsNullOrEmpty(data) ? Path.GetTempPath() : data, SigningKeyPath));
    }

    /// <summary>A Key Vault key (<c>https://{vault}.vault.azure.net/keys/{name}[/{version}]</c>, EC P-256) that signs checkpoints in Azure; the private half never leaves the vault.</summary>
    public string? SigningKeyVaultKeyId { get; set; }

    /// <summary>Distinct sources counted per minute by the refused-authentication aggregate; beyond them refusals count under <c>other</c>.</summary>
    public int MaxRefusalSourcesPerMinute { get; set; } = 100;

    public IEnumerable<string> Validate()
    {
        if (SealEveryEntries is < 1 or > 100_000) yield return "Gateway:Audit:SealEveryEntries must be between 1 and 100000";
        if (RetentionDays < 0) yield return "Gateway:Audit:RetentionDays must be 0 (keep everything) or more";
        if (MaxRefusalSourcesPerMinute < 1) yield return "Gateway:Audit:MaxRefusalSourcesPerMinute must be at least 1";
    }
}
