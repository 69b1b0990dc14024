using Gateway.Core.Usage;

namespace Gateway.Core.Savings;

/// <summary>Which usage records an analysis may price.</summary>
internal static class SavingsRecords
{
    /// <summary>Answered, billed, and not answered by the gateway's own cache (those cost nothing already).</summary>
    public static bool Billed(UsageRecord r) => r.Outcome == UsageOutcomes.Success && r.CostUsd > 0 && !ServedFromCache(r);

    /// <summary>Billed, and billed for this answer alone (no failed attempt priced in).</summary>
    public static bool CleanlyBilled(UsageRecord r) => Billed(r) && r.BilledFailures == 0;

    public static bool ServedFromCache(UsageRecord r) => r.CacheStatus is "hit" or "coalesced";
}
