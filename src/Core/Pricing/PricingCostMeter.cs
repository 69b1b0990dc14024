using Gateway.Core.Configuration;
using Gateway.Core.Protocol;
using Gateway.Core.Usage;

namespace Gateway.Core.Pricing;

/// <summary>Holds the pricing catalog in force; replacing it is atomic and only ever installs a valid catalog.</summary>
public sealed class PriceCatalogHolder(PriceCatalog initial)
{
    private PriceCatalog _current = initial;

    public PriceCatalog Current => Volatile.Read(ref _current);

    /// <summary>Validates <paramref name="json"/> and, when valid, installs it; otherwise the catalog in force stays.</summary>
    public PriceCatalog Replace(string json)
    {
        var next = PriceCatalog.Parse(json);
        Volatile.Write(ref _current, next);
        return next;
    }
}

/// <summary>Tokens each deployment has used this calendar month (UTC), for volume-tier pricing.</summary>
public interface IVolumeTracker
{
    long MonthToDate(string deployment, DateTimeOffset at);

    void Add(string deployment, DateTimeOffset at, long tokens);
}

/// <summary>
/// This instance's view of monthly volume: what it has priced itself, plus a baseline (e.g. from usage rollups) the host
/// may set. Tiers are decided on the volume known before a request, so a tier starts with the first request after it is reached.
/// </summary>
public sealed class InMemoryVolumeTracker : IVolumeTracker
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Deployment, int Month), long> _tokens = [];

    private static int MonthOf(DateTimeOffset at) => (at.UtcDateTime.Year * 12) + at.UtcDateTime.Month;

    public long MonthToDate(string deployment, DateTimeOffset at)
    {
        lock (_gate) return _tokens.GetValueOrDefault((deployment, MonthOf(at)));
    }

    public void Add(string deployment, DateTimeOffset at, long tokens)
    {
        lock (_gate)
        {
            var key = (deployment, MonthOf(at));
            _tokens[key] = _tokens.GetValueOrDefault(key) + tokens;
        }
    }

    /// <summary>Raises the month's count to at least <paramref name="tokens"/> (a baseline read from rollups).</summary>
    public void SetAtLeast(string deployment, DateTimeOffset at, long tokens)
    {
        lock (_gate)
        {
            var key = (deployment, MonthOf(at));
            _tokens[key] = Math.Max(_tokens.GetValueOrDefault(key), tokens);
        }
    }
}

/// <summary>
/// Prices requests with the catalog in force, the deployment's overrides and its volume tier. A price is found by the
/// deployment's <c>Pricing:PriceAs</c>, else the model the provider says it served, else the deployment's model. A
/// deployment with explicit prices and no catalog entry (a self-hosted model) is priced by its overrides alone;
/// explicit prices replace the long-context tier too. An unpriced model costs 0 and is recorded without a price key.
/// </summary>
public sealed class PricingCostMeter(PriceCatalogHolder catalog, IVolumeTracker? volume = null) : ICostMeter
{
    private readonly IVolumeTracker _volume = volume ?? new InMemoryVolumeTracker();

    public PriceCatalogHolder Catalog { get; } = catalog;

    /// <summary>The default output ceiling for a model whose maximum is not listed and whose request sets none.</summary>
    public const int UnknownMaxOutputTokens = 16384;

    /// <summary>The price in force for a deployment (null when neither the catalog nor the overrides price it).</summary>
    public ResolvedPrice? Resolve(DeploymentOptions deployment, string? servedModel, DateTimeOffset at)
    {
        var provider = deployment.Provider.ToLowerInvariant();
        var pricing = deployment.Pricing;
        var current = Catalog.Current;
        var list = (pricing.PriceAs is { } priceAs ? current.Find(provider, priceAs, at) : null)
            ?? current.Find(provider, servedModel, at)
            ?? current.Find(provider, deployment.Model, at);
        if (list is null)
        {
            if (pricing.Input is null || pricing.Output is null) return null;
            var own = new TokenPrices(pricing.Input.Value, pricing.Output.Value, pricing.CachedInput, pricing.CacheWrite5m, pricing.CacheWrite1h);
            return new ResolvedPrice($"{provider}/{deployment.Name}@override", own, null, null, null, 0m);
        }

        var key = pricing.HasExplicitPrices ? list.Key + "+override" : list.Key;
        return new ResolvedPrice(key, CostCalculator.Apply(list.Prices, pricing), pricing.HasExplicitPrices ? null : list.LongContext,
            list.MaxOutputTokens, list.MaxImageTokens, list.BatchDiscount);
    }

    public CostResult Cost(DeploymentOptions deployment, string? servedModel, TokenUsage usage, DateTimeOffset at)
    {
        var price = Resolve(deployment, servedModel, at);
        var monthToDate = _volume.MonthToDate(deployment.Name, at);
        _volume.Add(deployment.Name, at, usage.TotalTokens);
        if (price is null) return new CostResult(0m, false, null);
        var factor = CostCalculator.Factor(deployment.Pricing, monthToDate, price.BatchDiscount);
        var cost = CostCalculator.Compute(price.Prices, price.LongContext, usage, factor);
        return new CostResult(cost.Total, true, cost.LongContext ? price.Key + "+long-context" : price.Key);
    }

    public CostEstimateResult Estimate(ChatRequest request, IReadOnlyList<DeploymentOptions> candidates, DateTimeOffset at)
    {
        CostEstimateResult? highest = null;
        // the prompt is tokenized once per tokenizer and image allowance, however many deployments may serve it
        var counted = new Dictionary<(TokenizerKind, int), int>(1);
        foreach (var deployment in candidates)
        {
            var estimate = EstimateFor(request, deployment, at, counted);
            if (highest is null || estimate.MaxCostUsd > highest.MaxCostUsd || (estimate.MaxCostUsd == highest.MaxCostUsd && estimate.PromptTokens > highest.PromptTokens))
                highest = estimate;
        }

        return highest ?? new CostEstimateResult(0m, 0, 0, false);
    }

    /// <summary>
    /// The most the request can cost on one deployment: every prompt token at the highest prompt price (it may be
    /// written to a cache), the output cap (max_tokens, else the model's listed maximum) for each of the n choices at
    /// the output price, the long-context tier when the prompt is over its threshold, and today's discount factor
    /// (volume only grows, so the discount at settlement is never smaller).
    /// </summary>
    public CostEstimateResult EstimateFor(ChatRequest request, DeploymentOptions deployment, DateTimeOffset at) => EstimateFor(request, deployment, at, null);

    private CostEstimateResult EstimateFor(ChatRequest request, DeploymentOptions deployment, DateTimeOffset at, Dictionary<(TokenizerKind, int), int>? counted)
    {
        var price = Resolve(deployment, null, at);
        var kind = TokenCounter.KindOf(deployment.Provider.ToLowerInvariant(), deployment.Pricing.PriceAs ?? deployment.Model);
        var images = price?.MaxImageTokens ?? 1600;
        if (counted is null || !counted.TryGetValue((kind, images), out var prompt))
        {
            prompt = TokenCounter.CountPrompt(request, kind, images);
            counted?.Add((kind, images), prompt);
        }

        var bounded = request.MaxOutputTokens is not null || price?.MaxOutputTokens is not null;
        var perChoice = request.MaxOutputTokens ?? price?.MaxOutputTokens
            ?? (deployment.Provider.Equals(ProviderKind.Anthropic, StringComparison.OrdinalIgnoreCase) ? deployment.DefaultMaxTokens : UnknownMaxOutputTokens);
        var maxOutput = (int)Math.Min(int.MaxValue, (long)perChoice * Math.Max(1, request.N));
        if (price is null) return new CostEstimateResult(0m, prompt, maxOutput, false, bounded);
        var prices = price.LongContext is { } tier && prompt > tier.ThresholdInputTokens ? tier.Prices : price.Prices;
        var factor = CostCalculator.Factor(deployment.Pricing, _volume.MonthToDate(deployment.Name, at), price.BatchDiscount);
        var max = ((prompt * prices.MaxInput) + (maxOutput * prices.Output)) / 1_000_000m * factor;
        return new CostEstimateResult(max, prompt, maxOutput, true, bounded);
    }

    public int CountTokens(DeploymentOptions deployment, string text) =>
        TokenCounter.Count(TokenCounter.KindOf(deployment.Provider.ToLowerInvariant(), deployment.Pricing.PriceAs ?? deployment.Model), text);
}

/// <summary>A deployment's effective prices: the catalog entry with overrides applied.</summary>
public sealed record ResolvedPrice(string Key, TokenPrices Prices, LongContextTier? LongContext, int? MaxOutputTokens, int? MaxImageTokens, decimal BatchDiscount);
