using Gateway.Core.Configuration;
using Gateway.Core.Protocol;

namespace Gateway.Core.Usage;

/// <summary>
/// The pre-call estimate: an upper bound on cost when the request caps its output (max_tokens) or the model's maximum
/// output is known (<see cref="Bounded"/>), for OpenAI models whose tokenizer is public. <see cref="PrefixTokens"/> is the
/// part of the prompt that is its shared prefix (<see cref="Pricing.TokenCounter.CountPromptAndPrefix"/>), counted in the same pass.
/// </summary>
public sealed record CostEstimateResult(decimal MaxCostUsd, int PromptTokens, int MaxOutputTokens, bool Priced, bool Bounded = false, int PrefixTokens = 0);

/// <summary>The cost of a finished request.</summary>
public sealed record CostResult(decimal CostUsd, bool Priced, string? PriceKey);

/// <summary>Prices requests: the gateway's view of the pricing catalog, deployment overrides and tokenizers.</summary>
public interface ICostMeter
{
    /// <summary>The highest estimate over the deployments that may serve the request.</summary>
    CostEstimateResult Estimate(ChatRequest request, IReadOnlyList<DeploymentOptions> candidates, DateTimeOffset at);

    /// <summary>The cost of <paramref name="usage"/> on the deployment, at the same price the estimate used.</summary>
    CostResult Cost(DeploymentOptions deployment, TokenUsage usage, DateTimeOffset at);

    /// <summary>Counts tokens of text the gateway relayed (used when a stream ends without reported usage).</summary>
    int CountTokens(DeploymentOptions deployment, string text);
}

/// <summary>Converts USD amounts to the currencies reports may be asked for.</summary>
public interface ICurrencyRates
{
    bool IsKnown(string currency);

    decimal Convert(decimal usd, string currency);
}
