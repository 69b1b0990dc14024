using System.Globalization;
using System.Text.Json.Nodes;
using Gateway.Core.Errors;

namespace Gateway.Core.Configuration;

/// <summary>
/// The model catalog admin API's rules: show the catalog in force (with its version and where it came from); replace it
/// on every instance (validated first, every problem listed, the catalog in force unchanged when invalid); go back to the
/// configured catalog. A change names the version it replaces (<c>If-Match</c>), so two admins cannot overwrite each
/// other's changes unseen.
/// </summary>
public sealed class CatalogAdministration(ModelCatalogHolder holder, DocumentSync sync)
{
    public DocumentSync Sync => sync;

    public ModelCatalogHolder Holder => holder;

    /// <summary>The catalog in force: source, version (<c>etag</c>), when stored and installed, digest, counts and the document.</summary>
    public JsonObject Describe()
    {
        var current = holder.InForce;
        var o = Summary(current);
        o["catalog"] = JsonNode.Parse(current.Json);
        return o;
    }

    /// <summary>The catalog in force as the audit log keeps it: its version, source, model and deployment names and the document's SHA-256.</summary>
    public JsonObject AuditView()
    {
        var current = holder.InForce;
        return Audit.AdminAudit.Digest(current.Json, new JsonObject
        {
            ["source"] = Source(current.Source),
            ["etag"] = current.ETag,
            ["models"] = new JsonArray([.. current.Catalog.Models.Select(m => (JsonNode)m.Name)]),
            ["deployments"] = new JsonArray([.. current.Catalog.Deployments.Select(d => (JsonNode)d.Name)]),
        });
    }

    /// <summary>
    /// Replaces the catalog with the document <paramref name="body"/> when the version stored is <paramref name="ifMatch"/>:
    /// 428 without one, 400 <c>invalid_catalog</c> listing every problem, 412 <c>catalog_changed</c> when another version
    /// is stored. Answers as <see cref="Describe"/>, without the document.
    /// </summary>
    public async Task<JsonObject> ReplaceAsync(byte[] body, string? ifMatch, CancellationToken cancellationToken)
    {
        var condition = Condition(ifMatch);
        try
        {
            await DocumentUploads.ReplaceAsync(sync, body, "catalog", "invalid_catalog", condition, cancellationToken).ConfigureAwait(false);
        }
        catch (DocumentConflictException)
        {
            throw await ChangedAsync(cancellationToken).ConfigureAwait(false);
        }

        return Summary(holder.InForce);
    }

    /// <summary>
    /// Goes back to the configured catalog on every instance when the version stored is <paramref name="ifMatch"/> (428
    /// without one, 412 when another is stored; 400 when the pricing catalog in force no longer prices the configured one).
    /// </summary>
    public async Task<JsonObject> RevertAsync(string? ifMatch, CancellationToken cancellationToken)
    {
        var condition = Condition(ifMatch);
        try
        {
            await sync.RevertAsync(condition, cancellationToken).ConfigureAwait(false);
        }
        catch (DocumentRejectedException ex)
        {
            throw DocumentUploads.Rejected("configured model catalog", ex.Errors, "catalog", "invalid_catalog");
        }
        catch (DocumentConflictException)
        {
            throw await ChangedAsync(cancellationToken).ConfigureAwait(false);
        }

        return Summary(holder.InForce);
    }

    /// <summary>The store's condition for an If-Match value: <c>*</c> any, the configured version's tag none stored, else that version.</summary>
    public static DocumentCondition Condition(string? ifMatch)
    {
        var value = ifMatch?.Trim();
        if (string.IsNullOrEmpty(value))
            throw new GatewayException(new GatewayError(428,
                "Changing the model catalog requires an If-Match header with the etag of the catalog you read (GET /gateway/catalog), or * to replace whatever is in force.",
                "invalid_request_error", "If-Match", "precondition_required"));
        return value == "*" ? DocumentCondition.Any
            : value == ModelCatalogHolder.ConfigurationETag ? DocumentCondition.Absent
            : DocumentCondition.Matches(value);
    }

    private async Task<GatewayException> ChangedAsync(CancellationToken cancellationToken)
    {
        // this instance catches up at once, so the admin's next read shows the version that is stored now
        await sync.RefreshAsync(cancellationToken).ConfigureAwait(false);
        return new GatewayException(new GatewayError(412,
            $"The model catalog was changed since you read it; nothing was changed. Read it again (GET /gateway/catalog: it is now {holder.InForce.ETag}) and apply your change to that.",
            "invalid_request_error", "If-Match", "catalog_changed"));
    }

    private static JsonObject Summary(CatalogInForce current)
    {
        var o = new JsonObject
        {
            ["object"] = "model_catalog",
            ["source"] = Source(current.Source),
            ["etag"] = current.ETag,
        };
        if (current.StoredAt is { } stored) o["stored_at"] = Iso(stored);
        o["installed_at"] = Iso(current.InstalledAt);
        o["sha256"] = current.Sha256;
        o["models"] = current.Catalog.Models.Count;
        o["deployments"] = current.Catalog.Deployments.Count;
        return o;
    }

    private static string Source(CatalogSource source) => source == CatalogSource.Configuration ? "configuration" : "replacement";

    private static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
