namespace Gateway.Core.Usage;

/// <summary>Sums over a set of usage records. Cost is an exact decimal sum of unrounded per-request costs.</summary>
public sealed class UsageAggregate
{
    public long Requests { get; set; }
    public long Errors { get; set; }
    public long PromptTokens { get; set; }
    public long CompletionTokens { get; set; }
    public long CachedTokens { get; set; }
    public long CacheWriteTokens { get; set; }
    public long ReasoningTokens { get; set; }
    public decimal CostUsd { get; set; }
    public long EstimatedCostRequests { get; set; }
    public long LatencyMsTotal { get; set; }
    /// <summary>Requests answered from the response cache or coalesced with an identical call.</summary>
    public long CacheHits { get; set; }
    /// <summary>What those answers would have cost (exact decimal sum).</summary>
    public decimal SavedUsd { get; set; }
    /// <summary>Requests the gateway's own rate limits or provider quotas refused (see <see cref="UsageRecord.IsLimitRefusal"/>).</summary>
    public long RateLimited { get; set; }
    /// <summary>Requests or answers a safety policy or the provider's filter blocked.</summary>
    public long SafetyBlocks { get; set; }

    public long TotalTokens => PromptTokens + CompletionTokens;

    public void Add(UsageRecord r)
    {
        Requests++;
        if (r.IsError) Errors++;
        PromptTokens += r.PromptTokens;
        CompletionTokens += r.CompletionTokens;
        CachedTokens += r.CachedTokens;
        CacheWriteTokens += r.CacheWriteTokens;
        ReasoningTokens += r.ReasoningTokens;
        CostUsd += r.CostUsd;
        if (r.CostEstimated) EstimatedCostRequests++;
        LatencyMsTotal += r.LatencyMs;
        if (r.IsCacheHit) CacheHits++;
        SavedUsd += r.SavedUsd;
        if (r.IsLimitRefusal) RateLimited++;
        if (r.IsSafetyBlock) SafetyBlocks++;
    }

    public void Add(UsageAggregate a)
    {
        Requests += a.Requests;
        Errors += a.Errors;
        PromptTokens += a.PromptTokens;
        CompletionTokens += a.CompletionTokens;
        CachedTokens += a.CachedTokens;
        CacheWriteTokens += a.CacheWriteTokens;
        ReasoningTokens += a.ReasoningTokens;
        CostUsd += a.CostUsd;
        EstimatedCostRequests += a.EstimatedCostRequests;
        LatencyMsTotal += a.LatencyMsTotal;
        CacheHits += a.CacheHits;
        SavedUsd += a.SavedUsd;
        RateLimited += a.RateLimited;
        SafetyBlocks += a.SafetyBlocks;
    }

    public bool SameAs(UsageAggregate o) =>
        Requests == o.Requests && Errors == o.Errors && PromptTokens == o.PromptTokens && CompletionTokens == o.CompletionTokens &&
        CachedTokens == o.CachedTokens && CacheWriteTokens == o.CacheWriteTokens && ReasoningTokens == o.ReasoningTokens &&
        CostUsd == o.CostUsd && EstimatedCostRequests == o.EstimatedCostRequests && LatencyMsTotal == o.LatencyMsTotal &&
        CacheHits == o.CacheHits && SavedUsd == o.SavedUsd && RateLimited == o.RateLimited && SafetyBlocks == o.SafetyBlocks;
}
