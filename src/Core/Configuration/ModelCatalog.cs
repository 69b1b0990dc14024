using Gateway.Core.Errors;

namespace Gateway.Core.Configuration;

/// <summary>Gives the model catalog in force (a holder replaced at runtime, or a fixed catalog, which is its own source).</summary>
public interface IModelCatalogSource
{
    /// <summary>The catalog in force now; a request reads it once and keeps it (<see cref="Pipeline.GatewayContext.Catalog"/>).</summary>
    ModelCatalog Current { get; }
}

/// <summary>A validated, immutable catalog: public names and aliases resolved to models and their deployments.</summary>
public sealed class ModelCatalog : IModelCatalogSource
{
    private readonly Dictionary<string, CatalogModel> _byName;

    private ModelCatalog(CatalogOptions options, IReadOnlyList<CatalogModel> models, Dictionary<string, CatalogModel> byName)
    {
        Options = options;
        Models = models;
        _byName = byName;
    }

    public IReadOnlyList<CatalogModel> Models { get; }

    /// <summary>What the catalog was built from: the settings, or an uploaded document. Not to be changed.</summary>
    public CatalogOptions Options { get; }

    /// <summary>Every deployment, those no model names included (each is validated and must be priced all the same).</summary>
    public IReadOnlyList<DeploymentOptions> Deployments => Options.Deployments;

    ModelCatalog IModelCatalogSource.Current => this;

    /// <summary>
    /// Validates and builds the catalog; throws <see cref="CatalogException"/> listing every problem — with
    /// <paramref name="prices"/>, also every deployment that catalog cannot price at <paramref name="at"/> and that does
    /// not say it is free. Each problem starts with its path under <paramref name="root"/> (see <see cref="CatalogValidator.Validate"/>).
    /// </summary>
    public static ModelCatalog Create(CatalogOptions options, ISecretResolver secrets, Pricing.PriceCatalog? prices = null, DateTimeOffset at = default,
        string root = CatalogValidator.SettingsRoot)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = CatalogValidator.Validate(options, secrets, root);
        if (prices is not null && errors.Count == 0) errors = [.. errors, .. Pricing.PricingCostMeter.Unpriced(prices, options.Deployments, at, root)];
        if (errors.Count > 0) throw new CatalogException(errors);
        var deployments = options.Deployments.ToDictionary(d => d.Name, StringComparer.OrdinalIgnoreCase);
        var models = options.Models.Select(m => new CatalogModel(m.Name, m.Aliases.ToArray(),
            m.Deployments.Select(d => deployments[d]).ToArray(), m.Fallbacks.ToArray(), m.OwnedBy ?? "llm-gateway")
        { LoadBalancing = m.LoadBalancing.ToLowerInvariant() }).ToList();
        var byName = new Dictionary<string, CatalogModel>(StringComparer.Ordinal);
        foreach (var model in models)
        {
            byName[model.Name] = model;
            foreach (var alias in model.Aliases) byName[alias] = model;
        }
        return new ModelCatalog(options, models, byName);
    }

    public bool TryResolve(string nameOrAlias, out CatalogModel model) => _byName.TryGetValue(nameOrAlias, out model!);

    public CatalogModel Resolve(string nameOrAlias) =>
        TryResolve(nameOrAlias, out var model) ? model : throw Errors.Errors.ModelNotFound(nameOrAlias);

    /// <summary>
    /// The models that may serve a request for <paramref name="model"/>: the model, then each configured fallback the
    /// key may use (<paramref name="allowedModels"/>); a fallback the key may not use is skipped as if not configured.
    /// </summary>
    public IEnumerable<CatalogModel> ServingModels(CatalogModel model, IReadOnlyCollection<string> allowedModels)
    {
        ArgumentNullException.ThrowIfNull(model);
        yield return model;
        foreach (var name in model.Fallbacks)
        {
            if (TryResolve(name, out var fallback) && fallback.IsAllowedBy(allowedModels)) yield return fallback;
        }
    }
}

/// <summary>A model as served: its public name, aliases, deployments and fallbacks.</summary>
public sealed record CatalogModel(string Name, IReadOnlyList<string> Aliases, IReadOnlyList<DeploymentOptions> Deployments, IReadOnlyList<string> Fallbacks, string OwnedBy)
{
    /// <summary>weighted, least-busy or latency (see <see cref="ModelOptions.LoadBalancing"/>).</summary>
    public string LoadBalancing { get; init; } = Routing.LoadBalancing.Weighted;

    /// <summary>True when the key's allow-list permits this model by its name or one of its aliases.</summary>
    public bool IsAllowedBy(IReadOnlyCollection<string> allowedModels) =>
        allowedModels.Count == 0 || allowedModels.Contains(Name) || Aliases.Any(allowedModels.Contains) || allowedModels.Contains("*");
}

/// <summary>The configured catalog is invalid; the message lists every problem found.</summary>
public sealed class CatalogException(IReadOnlyList<string> errors)
    : Exception("The model catalog is invalid:" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => "  - " + e)))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
