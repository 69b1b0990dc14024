using System.Text.Json.Serialization;

namespace Gateway.Core.Usage;

/// <summary>
/// One request, as the usage log keeps it: who asked, what was asked and served, the tokens by kind, the cost and
/// how it went. Written once per request (the gateway's own request id is the key, so a redelivered message
/// overwrites rather than duplicates). Prompt and completion tokens follow <see cref="Protocol.TokenUsage"/>:
/// the prompt includes cached and cache-write tokens, the completion includes reasoning tokens.
/// </summary>
public sealed record UsageRecord
{
    /// <summary>The gateway's id for the request (unique; the row key).</summary>
    public required string RequestId { get; init; }
    /// <summary>The client's x-request-id when it sent one.</summary>
    public string? ClientRequestId { get; init; }
    /// <summary>When the request arrived (UTC). Buckets and reports use this time.</summary>
    public required DateTimeOffset At { get; init; }
    public required string KeyId { get; init; }
    public string? KeyName { get; init; }
    public string? User { get; init; }
    public string? Team { get; init; }
    public IReadOnlyDictionary<string, string> Tags { get; init; } = new Dictionary<string, string>();
    /// <summary>The model name the client asked for (public name or alias resolved to its public name).</summary>
    public string? ModelRequested { get; init; }
    /// <summary>The upstream model that answered (as the provider reported it, else the deployment's model).</summary>
    public string? ModelServed { get; init; }
    public string? Provider { get; init; }
    public string? Deployment { get; init; }
    public long PromptTokens { get; init; }
    public long CompletionTokens { get; init; }
    public long CachedTokens { get; init; }
    public long CacheWriteTokens { get; init; }
    /// <summary>The part of <see cref="CacheWriteTokens"/> written to a one-hour cache (priced higher).</summary>
    public long CacheWrite1hTokens { get; init; }
    public long ReasoningTokens { get; init; }
    /// <summary>Exact cost in USD (unrounded decimal).</summary>
    public decimal CostUsd { get; init; }
    /// <summary>True when the gateway counted some of the tokens (and so the cost): the provider reported no usage, or failed calls were priced.</summary>
    public bool CostEstimated { get; init; }
    /// <summary>
    /// Upstream calls that failed but may have been billed (timed out, dropped after connecting, in flight when the
    /// client left); their prompts are priced into <see cref="CostUsd"/> and <see cref="PromptTokens"/> (estimated).
    /// </summary>
    public int BilledFailures { get; init; }
    /// <summary>The part of <see cref="CostUsd"/> that is those failed calls (estimated: their prompts at their deployments' prices).</summary>
    public decimal BilledFailuresCostUsd { get; init; }
    /// <summary>The price used, e.g. <c>openai/gpt-4o@2024-10-01</c>; null when the model has no known price.</summary>
    public string? PriceKey { get; init; }
    public long LatencyMs { get; init; }
    /// <summary>Upstream calls made (1 normally; more after retries or fallbacks; 0 when none was made).</summary>
    public int Attempts { get; init; }
    /// <summary>Each upstream call in order, e.g. <c>east 504 upstream_timeout; west 200</c>.</summary>
    public string? AttemptLog { get; init; }
    /// <summary>The configured fallback model that answered when the requested model's deployments could not; else null.</summary>
    public string? FallbackModel { get; init; }
    /// <summary>Time to the first content chunk of a stream; null for non-streaming requests.</summary>
    public long? TimeToFirstTokenMs { get; init; }
    /// <summary>Streams: from the request to the stream's end.</summary>
    public long? StreamDurationMs { get; init; }
    /// <summary>Streams: the median and 95th percentile gap between chunks with text, after the first (inter-token latency).</summary>
    public double? InterTokenP50Ms { get; init; }
    public double? InterTokenP95Ms { get; init; }
    /// <summary>Streams: output tokens per second from the first token to the end.</summary>
    public double? OutputTokensPerSecond { get; init; }
    /// <summary>How many times the stream broke after its first byte and was continued (every attempt is in the tokens and cost).</summary>
    public int StreamRecoveries { get; init; }
    /// <summary>Each recovery: after how many characters, from which deployment and why, to which, how long it took.</summary>
    public string? StreamRecovery { get; init; }
    public bool Stream { get; init; }
    /// <summary>none, bypass, miss, hit or coalesced (the response cache).</summary>
    public string CacheStatus { get; init; } = "none";
    /// <summary>The response-cache entry this request's answer was stored under (a miss that called upstream); null otherwise.</summary>
    public string? CacheKey { get; init; }
    /// <summary>What a cached or coalesced answer would have cost (its cost is 0).</summary>
    public decimal SavedUsd { get; init; }
    /// <summary>
    /// The request's canonical hash (<see cref="Caching.CacheKey.RequestHash"/>: lower-case SHA-256 hex of what the response
    /// cache keys on, without its team or key scope), kept whether the cache is on or not: identical requests share it.
    /// Null when the request could not be read, and on records written before it was kept.
    /// </summary>
    public string? RequestHash { get; init; }
    /// <summary>The hash of the request's shared prefix (<see cref="Caching.CacheKey.PrefixHash"/>: the model, tool definitions and the messages before the last user turn); null when it has none.</summary>
    public string? PrefixHash { get; init; }
    /// <summary>The prefix's tokens as the pre-call estimate counted them (tool definitions included); null when they were not counted.</summary>
    public int? PrefixTokens { get; init; }
    /// <summary>The output cap the client asked for (<c>max_completion_tokens</c>, else <c>max_tokens</c>); null when it set none.</summary>
    public int? MaxTokens { get; init; }
    /// <summary>Tool and function definitions the request offered the model (0 for none); null when the request could not be read.</summary>
    public int? ToolsOffered { get; init; }
    /// <summary>Why the answer's first choice ended (<c>stop</c>, <c>length</c>, <c>tool_calls</c>, <c>content_filter</c>…); null when no answer said.</summary>
    public string? FinishReason { get; init; }
    /// <summary>The safety policy's decision, detector names and counts only (e.g. <c>input: redact email=2</c>); null when nothing was found.</summary>
    public string? Safety { get; init; }
    /// <summary>success, error, stream_broken or client_closed.</summary>
    public required string Outcome { get; init; }
    /// <summary>The HTTP status the client saw (499 when it went away).</summary>
    public int Status { get; init; }
    public string? ErrorCode { get; init; }

    [JsonIgnore]
    public bool IsError => Outcome != UsageOutcomes.Success;

    /// <summary>Answered from the response cache or by sharing an identical call in flight (no upstream call of its own).</summary>
    [JsonIgnore]
    public bool IsCacheHit => CacheStatus is "hit" or "coalesced";

    /// <summary>
    /// Refused 429 <c>rate_limit_exceeded</c> by the gateway itself — a key's rate limit, a deployment's provider quota or
    /// an admission window — before any upstream call (an upstream provider's own 429 comes after an attempt).
    /// </summary>
    [JsonIgnore]
    public bool IsLimitRefusal => Status == 429 && ErrorCode == "rate_limit_exceeded" && Attempts == 0;

    /// <summary>A safety policy or the provider's own filter blocked the request or withheld the answer (a decision with <c>block</c>).</summary>
    [JsonIgnore]
    public bool IsSafetyBlock => Safety is { } decision && decision.Contains(": block", StringComparison.Ordinal);
}

public static class UsageOutcomes
{
    public const string Success = "success";
    public const string Error = "error";
    public const string StreamBroken = "stream_broken";
    public const string ClientClosed = "client_closed";
}
