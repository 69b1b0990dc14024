using System.Text;
using System.Text.Json.Nodes;

namespace Gateway.Core.Pricing;

/// <summary>The pricing admin API's rules: show the catalog in force; replace it (validated first; the old one stays when invalid).</summary>
public sealed class PricingAdministration(PriceCatalogSync sync)
{
    /// <summary>Largest catalog document accepted.</summary>
    public const long MaxCatalogBytes = 4 * 1024 * 1024;

    public JsonObject Describe()
    {
        var current = sync.Holder.Current;
        return new JsonObject
        {
            ["version"] = current.Version,
            ["providers"] = new JsonArray(current.Providers.Order(StringComparer.Ordinal).Select(p => (JsonNode)p).ToArray()),
            ["models"] = current.ModelCount,
            ["catalog"] = JsonNode.Parse(current.Json),
        };
    }

    public async Task<JsonObject> ReplaceAsync(byte[] body, CancellationToken cancellationToken)
    {
        string json;
        try
        {
            json = new UTF8Encoding(false, true).GetString(body);
        }
        catch (DecoderFallbackException)
        {
            throw Errors.Errors.InvalidRequest("The pricing catalog must be UTF-8 JSON.", "catalog", "invalid_catalog");
        }

        try
        {
            var catalog = await sync.ReplaceAsync(json, cancellationToken).ConfigureAwait(false);
            return new JsonObject { ["version"] = catalog.Version, ["models"] = catalog.ModelCount, ["installed"] = true };
        }
        catch (PriceCatalogException ex)
        {
            var shown = ex.Errors.Take(50).ToList();
            var more = ex.Errors.Count > shown.Count ? $" (and {ex.Errors.Count - shown.Count} more)" : "";
            throw Errors.Errors.InvalidRequest(
                "The pricing catalog was rejected; the catalog in force is unchanged. " + string.Join("; ", shown) + more, "catalog", "invalid_catalog");
        }
    }
}
