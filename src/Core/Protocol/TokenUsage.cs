using System.Text.Json.Nodes;

namespace Gateway.Core.Protocol;

/// <summary>
/// Tokens of one request by kind. <see cref="PromptTokens"/> is the whole prompt, cached and
/// cache-write tokens included (OpenAI's convention); <see cref="CompletionTokens"/> includes reasoning tokens;
/// <see cref="CacheWrite1hTokens"/> is the part of <see cref="CacheWriteTokens"/> written to a one-hour cache.
/// </summary>
public readonly record struct TokenUsage(int PromptTokens, int CompletionTokens, int CachedPromptTokens = 0, int CacheWriteTokens = 0, int ReasoningTokens = 0, int CacheWrite1hTokens = 0)
{
    public int TotalTokens => PromptTokens + CompletionTokens;

    public static TokenUsage operator +(TokenUsage a, TokenUsage b) => new(
        a.PromptTokens + b.PromptTokens, a.CompletionTokens + b.CompletionTokens,
        a.CachedPromptTokens + b.CachedPromptTokens, a.CacheWriteTokens + b.CacheWriteTokens, a.ReasoningTokens + b.ReasoningTokens, a.CacheWrite1hTokens + b.CacheWrite1hTokens);

    /// <summary>The OpenAI <c>usage</c> object; cache writes (an Anthropic concept) appear as <c>prompt_tokens_details.cache_write_tokens</c>.</summary>
    public JsonObject ToJson()
    {
        var promptDetails = new JsonObject { ["cached_tokens"] = CachedPromptTokens };
        if (CacheWriteTokens > 0) promptDetails["cache_write_tokens"] = CacheWriteTokens;
        if (CacheWrite1hTokens > 0) promptDetails["cache_write_1h_tokens"] = CacheWrite1hTokens;
        return new JsonObject
        {
            ["prompt_tokens"] = PromptTokens,
            ["completion_tokens"] = CompletionTokens,
            ["total_tokens"] = TotalTokens,
            ["prompt_tokens_details"] = promptDetails,
            ["completion_tokens_details"] = new JsonObject { ["reasoning_tokens"] = ReasoningTokens },
        };
    }

    /// <summary>Reads an OpenAI <c>usage</c> object; null when absent or not an object.</summary>
    public static TokenUsage? FromOpenAi(JsonNode? usage)
    {
        if (usage is not JsonObject u) return null;
        return new TokenUsage(
            Int(u["prompt_tokens"]), Int(u["completion_tokens"]),
            Int(u["prompt_tokens_details"]?["cached_tokens"]),
            Int(u["prompt_tokens_details"]?["cache_write_tokens"]),
            Int(u["completion_tokens_details"]?["reasoning_tokens"]),
            Int(u["prompt_tokens_details"]?["cache_write_1h_tokens"]));
    }

    internal static int Int(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<int>(out var i) ? i :
        node is JsonValue d && d.TryGetValue<double>(out var x) ? (int)x : 0;
}
