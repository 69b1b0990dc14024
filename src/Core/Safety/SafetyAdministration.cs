using System.Text.Json.Nodes;
using Gateway.Core.Configuration;

namespace Gateway.Core.Safety;

/// <summary>
/// The safety admin API's rules: show the policies in force; replace them on every instance (validated first, every
/// problem listed, the policies in force unchanged when invalid); simulate a policy without calling a model.
/// </summary>
public sealed class SafetyAdministration(SafetyPoliciesHolder holder, DocumentSync sync)
{
    /// <summary>Largest policy document accepted.</summary>
    public const long MaxDocumentBytes = 1024 * 1024;

    public DocumentSync Sync => sync;

    public JsonObject Describe() => SafetySimulation.Describe(holder);

    /// <summary>The policies in force as the audit log keeps them: their names and the description's SHA-256.</summary>
    public JsonObject AuditView()
    {
        var described = Describe();
        var names = new JsonArray();
        if (described["policies"] is JsonObject policies) foreach (var (name, _) in policies) names.Add(name);
        return Audit.AdminAudit.Digest(described.ToJsonString(), new JsonObject { ["policies"] = names });
    }

    public async Task<JsonObject> ReplaceAsync(byte[] body, CancellationToken cancellationToken)
    {
        await DocumentUploads.ReplaceAsync(sync, body, "policy", "invalid_policy", cancellationToken).ConfigureAwait(false);
        var described = Describe();
        described["installed"] = true;
        return described;
    }

    public JsonObject Simulate(JsonObject body) => SafetySimulation.Simulate(body, holder.Current);
}
