using System.Security.Cryptography;
using System.Text;
using Gateway.Core.Pricing;

namespace Gateway.Core.Configuration;

/// <summary>Where the model catalog in force came from.</summary>
public enum CatalogSource
{
    /// <summary>The app's settings (catalog.json and app settings), as validated at startup.</summary>
    Configuration,
    /// <summary>A document stored through the admin API (or uploaded to its blob).</summary>
    Replacement,
}

/// <summary>
/// The model catalog in force on an instance: the catalog, where it came from, its version (<see cref="ETag"/>: the
/// stored document's, or <see cref="ModelCatalogHolder.ConfigurationETag"/>), when it was stored (replacements) and
/// when this instance installed it.
/// </summary>
public sealed record CatalogInForce(ModelCatalog Catalog, CatalogSource Source, string ETag, DateTimeOffset? StoredAt, DateTimeOffset InstalledAt)
{
    /// <summary>The catalog as a document (the shape of catalog.json's Catalog section), as shown and audited.</summary>
    public string Json { get; } = CatalogDocument.ToJson(Catalog.Options).ToJsonString();

    /// <summary>The SHA-256 of <see cref="Json"/>, lower-case hex: the same catalog has the same digest on every instance.</summary>
    public string Sha256 => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Json)));
}

/// <summary>
/// Holds the model catalog in force, replaceable at runtime like the pricing catalog. It starts as configured; a
/// replacement document is validated first — its shape (<see cref="CatalogDocument"/>), every rule of the startup check
/// (<see cref="CatalogValidator"/>), the pricing catalog in force pricing each deployment, and credentials going only
/// where the configured catalog sends them (<see cref="CredentialRoutes"/>) — every problem listed, and nothing changes
/// when one is found. Installing swaps one reference: a request reads <see cref="Current"/> once and keeps that catalog
/// to its end, so a deployment removed mid-flight finishes the requests it has.
/// </summary>
public sealed class ModelCatalogHolder : IVersionedDocument, IModelCatalogSource
{
    /// <summary>The version of the configured catalog (in If-Match: "no replacement stored").</summary>
    public const string ConfigurationETag = "\"configuration\"";

    private readonly CatalogOptions _configured;
    private readonly ISecretResolver _secrets;
    private readonly PriceCatalogHolder? _prices;
    private readonly TimeProvider _time;
    private readonly CredentialRoutes _routes;
    private readonly Lock _ownGate = new();
    private CatalogInForce _inForce;

    /// <summary>
    /// Validates the configured catalog (throws <see cref="CatalogException"/> listing every problem, with setting paths)
    /// and puts it in force. With <paramref name="prices"/>, every catalog installed must be priced by the pricing catalog
    /// in force (and every pricing catalog installed through that holder must price the catalog in force, if it was built
    /// to ask this one).
    /// </summary>
    public ModelCatalogHolder(CatalogOptions configured, ISecretResolver secrets, PriceCatalogHolder? prices, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(configured);
        ArgumentNullException.ThrowIfNull(secrets);
        ArgumentNullException.ThrowIfNull(time);
        _configured = configured;
        _secrets = secrets;
        _prices = prices;
        _time = time;
        _routes = new CredentialRoutes(configured);
        _inForce = new CatalogInForce(ModelCatalog.Create(configured, secrets, prices?.Current, time.GetUtcNow()), CatalogSource.Configuration, ConfigurationETag, null, time.GetUtcNow());
    }

    /// <summary>The catalog in force now.</summary>
    public ModelCatalog Current => Volatile.Read(ref _inForce).Catalog;

    /// <summary>The catalog in force with where it came from.</summary>
    public CatalogInForce InForce => Volatile.Read(ref _inForce);

    /// <summary>Largest catalog document accepted.</summary>
    public const long MaxDocumentBytes = 1024 * 1024;

    public string What => "model catalog";

    public string? CurrentJson => InForce.Source == CatalogSource.Configuration ? null : InForce.Json;

    public string? StoredETag => InForce.Source == CatalogSource.Configuration ? null : InForce.ETag;

    public string Describe()
    {
        var current = InForce;
        return $"{(current.Source == CatalogSource.Configuration ? "configured" : "replacement " + current.ETag)}: {current.Catalog.Models.Count} models, {current.Catalog.Deployments.Count} deployments";
    }

    public void Validate(string json)
    {
        lock (Gate) Build(json);
    }

    void IReplaceableDocument.Install(string json) => Install(new StoredDocument(json, "\"sha256-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json))) + "\""));

    public void Install(StoredDocument stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        lock (Gate)
        {
            var catalog = Build(stored.Json);
            Volatile.Write(ref _inForce, new CatalogInForce(catalog, CatalogSource.Replacement, stored.ETag, stored.StoredAt, _time.GetUtcNow()));
        }
    }

    public void ValidateConfigured()
    {
        lock (Gate) Configured();
    }

    public void Revert()
    {
        lock (Gate)
        {
            var catalog = Configured();
            Volatile.Write(ref _inForce, new CatalogInForce(catalog, CatalogSource.Configuration, ConfigurationETag, null, _time.GetUtcNow()));
        }
    }

    // a model catalog and a pricing catalog are checked against each other and installed one at a time
    private Lock Gate => _prices?.InstallGate ?? _ownGate;

    /// <summary>The configured catalog, checked again against the prices in force (they may have been replaced since startup).</summary>
    private ModelCatalog Configured()
    {
        try
        {
            return ModelCatalog.Create(_configured, _secrets, _prices?.Current, _time.GetUtcNow());
        }
        catch (CatalogException ex)
        {
            throw new CatalogRejectedException("configured model catalog", ex.Errors);
        }
    }

    private ModelCatalog Build(string json)
    {
        CatalogOptions options;
        try
        {
            options = CatalogDocument.Parse(json);
        }
        catch (CatalogException ex)
        {
            throw new CatalogRejectedException(What, ex.Errors);
        }

        // the shape is sound: every rule is checked, each problem named with its path in the document
        var errors = CatalogValidator.Validate(options, _secrets, root: "").Concat(_routes.Check(options)).ToList();
        if (_prices is not null) errors.AddRange(PricingCostMeter.Unpriced(_prices.Current, options.Deployments, _time.GetUtcNow(), root: ""));
        if (errors.Count > 0) throw new CatalogRejectedException(What, errors);
        return ModelCatalog.Create(options, _secrets, root: "");
    }
}

/// <summary>A model catalog document was refused: every problem, each with its path in the document.</summary>
public sealed class CatalogRejectedException(string what, IReadOnlyList<string> errors) : DocumentRejectedException(what, errors);
