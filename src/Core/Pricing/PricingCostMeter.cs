using Gateway.Core.Configuration;
using Gateway.Core.Protocol;
using Gateway.Core.Usage;

namespace Gateway.Core.Pricing;

/// <summary>
/// Holds the pricing catalog in force; replacing it is atomic and only ever installs a valid catalog — one that also
/// prices every deployment of the model catalog in force that is not free.
/// </summary>
public sealed class PriceCatalogHolder : IReplaceableDocument
{
    private readonly Func<IReadOnlyList<DeploymentOptions>>? _deployments;
    private readonly TimeProvider? _time;
    private PriceCatalog _current;

    /// <summary>A holder whose replacements must price <paramref name="deployments"/> (none: no coverage check).</summary>
    public PriceCatalogHolder(PriceCatalog initial, IReadOnlyList<DeploymentOptions>? deployments = null, TimeProvider? time = null)
        : this(initial, deployments is null ? null : () => deployments, time)
    {
    }

    /// <summary>A holder whose replacements must price the deployments <paramref name="deployments"/> gives at the time (those of the model catalog in force).</summary>
    public PriceCatalogHolder(PriceCatalog initial, Func<IReadOnlyList<DeploymentOptions>>? deployments, TimeProvider? time = null)
    {
        _current = initial;
        _deployments = deployments;
        _time = time;
    }

    /// <summary>
    /// Held while a pricing catalog or a model catalog is checked against the other and installed, so that the pair in
    /// force always prices every deployment.
    /// </summary>
    internal Lock InstallGate { get; } = new();

    public PriceCatalog Current => Volatile.Read(ref _current);

    string IReplaceableDocument.What => "pricing catalog";

    string? IReplaceableDocument.CurrentJson => Current.Json;

    string IReplaceableDocument.Describe() => Current.Version;

    void IReplaceableDocument.Validate(string json)
    {
        lock (InstallGate) Checked(json);
    }

    void IReplaceableDocument.Install(string json) => Replace(json);

    /// <summary>
    /// Validates <paramref name="json"/> and, when valid, installs it; otherwise (<see cref="PriceCatalogException"/>
    /// listing every problem) the catalog in force stays.
    /// </summary>
    public PriceCatalog Replace(string json)
    {
        lock (InstallGate)
        {
            var next = Checked(json);
            Volatile.Write(ref _current, next);
            return next;
        }
    }

    private PriceCatalog Checked(string json)
    {
        var next = PriceCatalog.Parse(json);
        if (_deployments is not null)
        {
            var unpriced = PricingCostMeter.Unpriced(next, _deployments(), (_time ?? TimeProvider.System).GetUtcNow());
            if (unpriced.Count > 0) throw new PriceCatalogException(unpriced);
        }

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
/// Prices requests with the catalog in force, the deployment's overrides and its volume tier (see <see cref="PriceOf"/>:
/// one price per deployment, the same for the estimate and the settlement). A deployment with explicit prices and no
/// catalog entry (a self-hosted model) is priced by its overrides alone; explicit prices replace the long-context tier
/// too. A deployment the catalog cannot price must say it is free (validated at startup and on every catalog replacement).
/// </summary>
public sealed class PricingCostMeter(PriceCatalogHolder catalog, IVolumeTracker? volume = null) : ICostMeter
{
    private readonly IVolumeTracker _volume = volume ?? new InMemoryVolumeTracker();

    public PriceCatalogHolder Catalog { get; } = catalog;

    /// <summary>The default output ceiling for a model whose maximum is not listed and whose request sets none.</summary>
    public const int UnknownMaxOutputTokens = 16384;

    /// <summary>The price in force for a deployment (null when neither the catalog nor the overrides price it).</summary>
    public ResolvedPrice? Resolve(DeploymentOptions deployment, DateTimeOffset at) => PriceOf(Catalog.Current, deployment, at);

    /// <summary>
    /// The one price of a deployment, used both for the pre-call estimate and for settlement (so the estimate bounds
    /// what is settled): free when it says so; else the catalog entry of <c>Pricing:PriceAs</c>, else of its model, with
    /// its overrides applied; else its overrides alone when they give input and output prices; else none. The model the
    /// provider reports is recorded, not priced: a deployment's price never depends on an answer.
    /// </summary>
    public static ResolvedPrice? PriceOf(PriceCatalog catalog, DeploymentOptions deployment, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(deployment);
        var provider = deployment.Provider.ToLowerInvariant();
        var pricing = deployment.Pricing;
        if (pricing.Free) return new ResolvedPrice($"{provider}/{deployment.Name}@free", new TokenPrices(0m, 0m, null, null, null), null, null, null, 0m);
        var list = catalog.Find(provider, pricing.PriceAs ?? deployment.Model, at)
            // the built-in offline provider has no bill: its deployments take the catalog's fictitious mock prices
            ?? (provider == ProviderKind.Mock && pricing.PriceAs is null ? catalog.Find(provider, ProviderKind.Mock, at) : null);
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

    /// <summary>
    /// Every deployment <paramref name="catalog"/> cannot price at <paramref name="at"/> and that is not free, as
    /// settings problems (one per deployment), with paths under <paramref name="root"/>. Checked at startup and before a
    /// replacement pricing catalog or model catalog is installed.
    /// </summary>
    public static IReadOnlyList<string> Unpriced(PriceCatalog catalog, IReadOnlyList<DeploymentOptions> deployments, DateTimeOffset at,
        string root = CatalogValidator.SettingsRoot)
    {
        ArgumentNullException.ThrowIfNull(deployments);
        ArgumentNullException.ThrowIfNull(root);
        var prefix = root.Length == 0 ? "" : root + ":";
        var errors = new List<string>();
        for (var i = 0; i < deployments.Count; i++)
        {
            var d = deployments[i];
            // a deployment without a name or a known provider is refused for that, not for its price
            var provider = d.Provider?.ToLowerInvariant() ?? "";
            if (string.IsNullOrWhiteSpace(d.Name) || !ProviderKind.All.Contains(provider)
                || (provider != ProviderKind.Mock && string.IsNullOrWhiteSpace(d.Pricing.PriceAs ?? d.Model)) || PriceOf(catalog, d, at) is not null) continue;
            var model = d.Pricing.PriceAs ?? d.Model;
            errors.Add($"{prefix}Deployments:{i.ToString(System.Globalization.CultureInfo.InvariantCulture)} ('{d.Name}'):Pricing: the pricing catalog has no price for " +
                $"{(d.Pricing.PriceAs is null ? "model" : "PriceAs")} '{model}' of provider '{provider}', so its requests could be neither budgeted nor billed. " +
                "Set Pricing:PriceAs to the catalog model it is billed as, give Pricing:Input and Pricing:Output (USD per million tokens), or set Pricing:Free to true.");
        }

        return errors;
    }

    public CostResult Cost(DeploymentOptions deployment, TokenUsage usage, DateTimeOffset at)
    {
        var price = Resolve(deployment, at);
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
        var counted = new Dictionary<(TokenizerKind, int), (int Prompt, int Prefix)>(1);
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

    private CostEstimateResult EstimateFor(ChatRequest request, DeploymentOptions deployment, DateTimeOffset at, Dictionary<(TokenizerKind, int), (int Prompt, int Prefix)>? counted)
    {
        var price = Resolve(deployment, at);
        var kind = TokenCounter.KindOf(deployment);
        var images = price?.MaxImageTokens ?? 1600;
        if (counted is null || !counted.TryGetValue((kind, images), out var tokens))
        {
            tokens = TokenCounter.CountPromptAndPrefix(request, kind, images);
            counted?.Add((kind, images), tokens);
        }

        var prompt = tokens.Prompt;
        var bounded = request.MaxOutputTokens is not null || price?.MaxOutputTokens is not null;
        var perChoice = request.MaxOutputTokens ?? price?.MaxOutputTokens
            ?? (deployment.Provider.Equals(ProviderKind.Anthropic, StringComparison.OrdinalIgnoreCase) ? deployment.DefaultMaxTokens : UnknownMaxOutputTokens);
        var maxOutput = (int)Math.Min(int.MaxValue, (long)perChoice * Math.Max(1, request.N));
        if (price is null) return new CostEstimateResult(0m, prompt, maxOutput, false, bounded, tokens.Prefix);
        var prices = price.LongContext is { } tier && prompt > tier.ThresholdInputTokens ? tier.Prices : price.Prices;
        var factor = CostCalculator.Factor(deployment.Pricing, _volume.MonthToDate(deployment.Name, at), price.BatchDiscount);
        var max = ((prompt * prices.MaxInput) + (maxOutput * prices.Output)) / 1_000_000m * factor;
        return new CostEstimateResult(max, prompt, maxOutput, true, bounded, tokens.Prefix);
    }

    public int CountTokens(DeploymentOptions deployment, string text) =>
        TokenCounter.Count(TokenCounter.KindOf(deployment), text);
}

/// <summary>A deployment's effective prices: the catalog entry with overrides applied.</summary>
public sealed record ResolvedPrice(string Key, TokenPrices Prices, LongContextTier? LongContext, int? MaxOutputTokens, int? MaxImageTokens, decimal BatchDiscount);
