namespace Gateway.Core.Privacy;

/// <summary>End users' data (section <c>Gateway:Privacy</c>): pseudonyms on usage records, and the pepper behind them.</summary>
public sealed class PrivacyOptions
{
    /// <summary>
    /// Store the keyed hash of the end user (<see cref="Audit.SubjectHasher"/>) on usage records, and so in rollups,
    /// instead of the plain id. Budgets still see the plain id (they are keyed by it); reports show the hash.
    /// </summary>
    public bool PseudonymizeUsers { get; set; }

    /// <summary>Per team, over <see cref="PseudonymizeUsers"/>: <c>Gateway:Privacy:Teams:&lt;team&gt;=true|false</c>.</summary>
    public Dictionary<string, bool> Teams { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The secret the end-user hashes are keyed with (at least 32 characters; in Azure a Key Vault reference). Changing it
    /// changes every hash: pseudonymous records and audit subjects written before no longer match their users.
    /// </summary>
    public string? Pepper { get; set; }

    /// <summary>Prompt and answer logging (section <c>Gateway:Privacy:ContentLogging</c>): off unless switched on.</summary>
    public ContentLogOptions ContentLogging { get; set; } = new();

    /// <summary>Whether content is logged for anyone at all (else the stage is left out of the pipeline).</summary>
    public bool LogsContent => ContentLogging.Enabled || ContentLogging.Teams.Values.Any(on => on) || ContentLogging.Keys.Values.Any(on => on);
}
