using Gateway.Core.Configuration;
using Gateway.Core.Pricing;
using Gateway.Core.Protocol;
using Gateway.Core.Usage;

namespace Gateway.Core.Savings;

/// <summary>
/// Prices usage records another way: at the list price they were billed at, at another model's or another deployment's
/// price. What a record really cost (its discounts, tiers, negotiated prices) is kept by scaling: another price's cost is
/// multiplied by the record's cost over its list cost.
/// </summary>
internal sealed class RecordPricing
{
    private readonly PriceCatalog _prices;
    private readonly Dictionary<string, string> _cheaperModels;
    private readonly Dictionary<string, DeploymentOptions> _deployments = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, List<string>> _servedBy = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<(string Provider, string Model), string?> _siblings = [];

    public RecordPricing(PriceCatalog prices, ModelCatalog models, SavingsOptions options)
    {
        _prices = prices;
        // case-insensitive whatever dictionary the settings were bound into
        _cheaperModels = new Dictionary<string, string>(options.CheaperModels, StringComparer.OrdinalIgnoreCase);
        Models = models;
        foreach (var model in models.Models)
        {
            foreach (var deployment in model.Deployments)
            {
                _deployments.TryAdd(deployment.Name, deployment);
                if (!_servedBy.TryGetValue(deployment.Name, out var names)) _servedBy[deployment.Name] = names = [];
                names.Add(model.Name);
            }
        }

        Deployments = [.. _deployments.Values.OrderBy(d => d.Name, StringComparer.Ordinal)];
    }

    public PriceCatalog Prices => _prices;

    public ModelCatalog Models { get; }

    /// <summary>Every configured deployment, by name.</summary>
    public IReadOnlyList<DeploymentOptions> Deployments { get; }

    public DeploymentOptions? Deployment(string? name) => name is not null && _deployments.TryGetValue(name, out var d) ? d : null;

    /// <summary>The public models a deployment serves (in catalog order).</summary>
    public IReadOnlyList<string> ModelsServedBy(string deployment) => _servedBy.TryGetValue(deployment, out var names) ? names : [];

    /// <summary>
    /// The catalog price a record was billed at: the model of its price key (<c>openai/gpt-4o@2024-10-02</c>), else its
    /// provider and served model; none for a free deployment or one priced by its own overrides alone.
    /// </summary>
    public ModelPrice? ListedPrice(UsageRecord r)
    {
        if (r.PriceKey is { } key)
        {
            var slash = key.IndexOf('/', StringComparison.Ordinal);
            var at = slash < 0 ? -1 : key.IndexOf('@', slash);
            if (at > slash + 1)
            {
                var suffix = key[(at + 1)..];
                if (suffix.StartsWith("free", StringComparison.Ordinal) || suffix.StartsWith("override", StringComparison.Ordinal)) return null;
                if (_prices.Find(key[..slash], key[(slash + 1)..at], r.At) is { } listed) return listed;
            }
        }

        return r.Provider is { } provider && _prices.Find(provider, r.ModelServed, r.At) is { } served ? served : null;
    }

    /// <summary>The catalog price a configured deployment is billed at (none when free or priced by its overrides alone).</summary>
    public ModelPrice? ListedPrice(DeploymentOptions d, DateTimeOffset at) =>
        d.Pricing.Free ? null : _prices.Find(d.Provider.ToLowerInvariant(), d.Pricing.PriceAs ?? d.Model, at);

    public static TokenUsage Usage(UsageRecord r)
    {
        static int Clamp(long n) => (int)Math.Clamp(n, 0, int.MaxValue);
        return new TokenUsage(Clamp(r.PromptTokens), Clamp(r.CompletionTokens), Clamp(r.CachedTokens), Clamp(r.CacheWriteTokens), Clamp(r.ReasoningTokens), Clamp(r.CacheWrite1hTokens));
    }

    /// <summary>The record's tokens at a price's list prices.</summary>
    public static decimal ListCost(UsageRecord r, ModelPrice price) => CostCalculator.Compute(price.Prices, price.LongContext, Usage(r)).Total;

    /// <summary>What the record cost over its list cost (its discounts and overrides); null when its list cost is nothing.</summary>
    public static decimal? Factor(UsageRecord r, ModelPrice listed)
    {
        var list = ListCost(r, listed);
        return list > 0 ? r.CostUsd / list : null;
    }

    /// <summary>The record's tokens on a configured deployment, at its price and its discount (volume tiers not reached).</summary>
    public decimal? CostOn(DeploymentOptions d, UsageRecord r)
    {
        if (PricingCostMeter.PriceOf(_prices, d, r.At) is not { } price) return null;
        return CostCalculator.Compute(price.Prices, price.LongContext, Usage(r), CostCalculator.Factor(d.Pricing, 0, price.BatchDiscount)).Total;
    }

    /// <summary>
    /// The cheaper sibling of a listed model at <paramref name="at"/>: the one <see cref="SavingsOptions.CheaperModels"/>
    /// names, else the dearest of the same provider's models of its family (<see cref="ModelFamilies"/>) that cost less
    /// for input and output alike — one step down, not the cheapest. None when there is no such model.
    /// </summary>
    public ModelPrice? CheaperSibling(ModelPrice listed, DateTimeOffset at)
    {
        var key = (listed.Provider, listed.Model);
        if (!_siblings.TryGetValue(key, out var name)) _siblings[key] = name = FindSibling(listed, at);
        return name is null ? null : _prices.Find(listed.Provider, name, at);
    }

    private string? FindSibling(ModelPrice listed, DateTimeOffset at)
    {
        if (_cheaperModels.TryGetValue(listed.Model, out var named)) return _prices.Find(listed.Provider, named, at)?.Model;
        var family = ModelFamilies.Key(listed.Model);
        var p = listed.Prices;
        return _prices.ModelsOf(listed.Provider)
            .Where(m => !string.Equals(m, listed.Model, StringComparison.OrdinalIgnoreCase) && ModelFamilies.Key(m) == family)
            .Select(m => _prices.Find(listed.Provider, m, at))
            .OfType<ModelPrice>()
            .Where(c => c.Prices.Input <= p.Input && c.Prices.Output <= p.Output && (c.Prices.Input < p.Input || c.Prices.Output < p.Output))
            .OrderByDescending(c => c.Prices.Output).ThenByDescending(c => c.Prices.Input).ThenBy(c => c.Model, StringComparer.Ordinal)
            .FirstOrDefault()?.Model;
    }

    /// <summary>The first public model of the catalog with a deployment billed as <paramref name="listedModel"/>; null when none is.</summary>
    public string? PublicModelFor(string listedModel, DateTimeOffset at) => Models.Models
        .FirstOrDefault(m => m.Deployments.Any(d => string.Equals(ListedPrice(d, at)?.Model, listedModel, StringComparison.OrdinalIgnoreCase)))?.Name;
}
