using Gateway.Core.Usage;

namespace Gateway.Functions.Tests.Usage;

/// <summary>Deterministic usage records for storage tests.</summary>
internal static class UsageData
{
    private static readonly string[] Teams = ["payments", "search", "support"];
    private static readonly string[] Users = ["alice", "bob", "carol", "dave"];
    private static readonly string[] Models = ["gpt-4o", "claude", "mock-1"];

    public static UsageRecord Record(int i, DateTimeOffset at, Random random) => new()
    {
        RequestId = $"req_{i:D6}_{random.Next():x8}",
        At = at,
        KeyId = "key_" + (i % 5),
        KeyName = "svc" + (i % 5),
        User = i % 7 == 0 ? null : Users[random.Next(Users.Length)],
        Team = Teams[i % Teams.Length],
        Tags = i % 2 == 0 ? new Dictionary<string, string> { ["env"] = "prod", ["feature"] = i % 4 == 0 ? "chat" : "search/v2" } : new Dictionary<string, string>(),
        ModelRequested = Models[i % Models.Length],
        ModelServed = Models[i % Models.Length] + "-2025",
        Provider = i % 3 == 1 ? "anthropic" : "openai",
        Deployment = "dep-" + (i % 3),
        PromptTokens = random.Next(1, 5000),
        CompletionTokens = random.Next(0, 800),
        CachedTokens = random.Next(0, 100),
        CostUsd = random.Next(0, 1_000_000) / 1_000_000_000m + 0.000000001m * (i % 10),
        LatencyMs = random.Next(5, 3000),
        Outcome = i % 11 == 0 ? UsageOutcomes.Error : UsageOutcomes.Success,
        // every other error is the gateway's own rate-limit refusal (no upstream call), the rest an upstream failure
        Status = i % 22 == 0 ? 429 : i % 11 == 0 ? 502 : 200,
        ErrorCode = i % 22 == 0 ? "rate_limit_exceeded" : i % 11 == 0 ? "upstream_error" : null,
        Attempts = i % 22 == 0 ? 0 : 1,
        CacheStatus = i % 13 == 0 ? "hit" : i % 29 == 0 ? "coalesced" : "miss",
        SavedUsd = i % 13 == 0 || i % 29 == 0 ? 0.000123m + i / 1_000_000_000m : 0m,
        Safety = i % 17 == 0 ? "output: block secret.aws=1" : i % 19 == 0 ? "input: flag email=1" : null,
    };

    public static List<UsageRecord> Spread(int count, DateTimeOffset from, TimeSpan over, int seed = 7)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(i => Record(i, from + TimeSpan.FromTicks((long)(random.NextDouble() * over.Ticks)), random))];
    }
}
