using System.Text.Json.Nodes;
using Gateway.Core.Configuration;

namespace Gateway.Core.Pricing;

/// <summary>The pricing admin API's rules: show the catalog in force; replace it (validated first; the old one stays when invalid).</summary>
public sealed class PricingAdministration(PriceCatalogHolder holder, DocumentSync sync)
{
    /// <summary>Largest catalog document accepted.</summary>
    public const long MaxCatalogBytes = 4 * 1024 * 1024;

    public DocumentSync Sync => sync;

    public JsonObject Describe()
    {
        var current = holder.Current;
        return new JsonObject
        {
            ["version"] = current.Version,
            ["providers"] = new JsonArray(current.Providers.Order(StringComparer.Ordinal).Select(p => (JsonNode)p).ToArray()),
            ["models"] = current.ModelCount,
            ["catalog"] = JsonNode.Parse(current.Json),
        };
    }

    /// <summary>The catalog in force as the audit log keeps it: version, model count and the document's SHA-256.</summary>
    public JsonObject AuditView()
    {
        var current = holder.Current;
        return Audit.AdminAudit.Digest(current.Json, new JsonObject { ["version"] = current.Version, ["models"] = current.ModelCount });
    }

    public async Task<JsonObject> ReplaceAsync(byte[] body, CancellationToken cancellationToken)
    {
        await DocumentUploads.ReplaceAsync(sync, body, "catalog", "invalid_catalog", cancellationToken).ConfigureAwait(false);
        var catalog = holder.Current;
        return new JsonObject { ["version"] = catalog.Version, ["models"] = catalog.ModelCount, ["installed"] = true };
    }
}
