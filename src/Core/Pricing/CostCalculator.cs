using Gateway.Core.Configuration;
using Gateway.Core.Protocol;

namespace Gateway.Core.Pricing;

/// <summary>A request's cost by kind of token, in USD, exact (no rounding anywhere).</summary>
public readonly record struct CostBreakdown(decimal Input, decimal CachedInput, decimal CacheWrite, decimal Output, decimal Factor, bool LongContext)
{
    /// <summary>(input + cached input + cache writes + output) × factor (discounts), unrounded.</summary>
    public decimal Total => (Input + CachedInput + CacheWrite + Output) * Factor;
}

/// <summary>
/// The billing arithmetic, in <c>decimal</c> with no intermediate rounding: every amount is tokens × (USD per million)
/// / 1,000,000, exact to 28 significant digits; rounding happens only where money is displayed (six decimals,
/// midpoint away from zero) and never in stored records.
/// <list type="bullet">
/// <item>Prompt tokens are split into plain input, cache reads (<c>cachedInput</c> price) and cache writes
/// (<c>cacheWrite5m</c>, or <c>cacheWrite1h</c> for the one-hour part); a missing cache price bills those tokens as
/// input. Inconsistent counts are clamped: cache reads at most the prompt, writes at most what remains.</item>
/// <item>Completion tokens, reasoning included, are billed at the output price.</item>
/// <item>Long context: when the prompt (cache reads and writes included) exceeds the tier's threshold, every token of
/// the request is billed at the tier's prices (Anthropic's rule).</item>
/// <item>Discounts multiply the total: (1 − deployment or volume-tier discount) × (1 − batch discount when batch).</item>
/// </list>
/// </summary>
public static class CostCalculator
{
    private const decimal PerMillion = 1_000_000m;

    public static CostBreakdown Compute(TokenPrices listPrices, LongContextTier? longContext, TokenUsage usage, decimal factor = 1m)
    {
        var prompt = Math.Max(0, usage.PromptTokens);
        var cached = Math.Clamp(usage.CachedPromptTokens, 0, prompt);
        var written = Math.Clamp(usage.CacheWriteTokens, 0, prompt - cached);
        var written1h = Math.Clamp(usage.CacheWrite1hTokens, 0, written);
        var plain = prompt - cached - written;
        var output = Math.Max(0, usage.CompletionTokens);

        var isLong = longContext is not null && prompt > longContext.ThresholdInputTokens;
        var p = isLong ? longContext!.Prices : listPrices;
        return new CostBreakdown(
            Input: plain * p.Input / PerMillion,
            CachedInput: cached * p.CachedInputOrInput / PerMillion,
            CacheWrite: ((written - written1h) * p.CacheWrite5mOrInput + written1h * p.CacheWrite1hOrInput) / PerMillion,
            Output: output * p.Output / PerMillion,
            Factor: factor,
            LongContext: isLong);
    }

    /// <summary>List prices with a deployment's explicit prices laid over them.</summary>
    public static TokenPrices Apply(TokenPrices list, DeploymentPricingOptions pricing) => pricing.HasExplicitPrices
        ? new TokenPrices(
            pricing.Input ?? list.Input,
            pricing.Output ?? list.Output,
            pricing.CachedInput ?? list.CachedInput,
            pricing.CacheWrite5m ?? list.CacheWrite5m,
            pricing.CacheWrite1h ?? list.CacheWrite1h)
        : list;

    /// <summary>The multiplier discounts make: the highest volume tier reached (else the deployment discount), then batch.</summary>
    public static decimal Factor(DeploymentPricingOptions pricing, long monthToDateTokens, decimal batchDiscount)
    {
        var discount = pricing.Discount;
        foreach (var tier in pricing.VolumeTiers)
        {
            if (monthToDateTokens >= tier.FromMonthlyTokens) discount = tier.Discount;
        }

        var factor = 1m - discount;
        if (pricing.Batch) factor *= 1m - batchDiscount;
        return factor;
    }
}
