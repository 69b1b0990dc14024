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

    public async Task<JsonObject> ReplaceAsync(byte[] body, CancellationToken cancellationToken)
    {
        await DocumentUploads.ReplaceAsync(sync, body, "policy", "invalid_policy", cancellationToken).ConfigureAwait(false);
        var described = Describe();
        described["installed"] = true;
        return described;
    }

    public JsonObject Simulate(JsonObject body) => SafetySimulation.Simulate(body, holder.Current);
}
