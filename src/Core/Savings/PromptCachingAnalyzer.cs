using Gateway.Core.Usage;

namespace Gateway.Core.Savings;

/// <summary>
/// Prompt-caching opportunities, per deployment: long prefixes (<see cref="UsageRecord.PrefixTokens"/> at least
/// <see cref="SavingsOptions.MinPrefixTokens"/>) sent again, with the same <see cref="UsageRecord.PrefixHash"/>, within
/// <see cref="SavingsOptions.PromptCacheTtlSeconds"/> of their last use. Each such request would read the part of its
/// prefix the provider did not already serve from its cache at the cached-input price instead of the input price; every
/// long prefix sent when none was cached pays the cache-write premium where the provider charges one (Anthropic), and
/// that is subtracted. Needs the prefix hash and size: older records are left out.
/// </summary>
internal sealed class PromptCachingAnalyzer(RecordPricing pricing, SavingsOptions options) : ISavingsAnalyzer
{
    private readonly record struct Occurrence(long Ticks, decimal HitSaving, decimal WritePremium, long UncachedTokens);

    private sealed class Deployment
    {
        public string Provider = "";
        public string Model = "";
        public decimal InputPrice;
        public decimal CachedInputPrice;
        /// <summary>When the prices shown were in force: the latest record's (the same whatever order the records came in).</summary>
        public long PricedAt = long.MinValue;
        public long LongPrefixRequests;
    }

    private readonly Dictionary<string, Deployment> _deployments = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Deployment, string Prefix), List<Occurrence>> _prefixes = [];

    public void Add(UsageRecord r)
    {
        if (r.PrefixHash is not { } prefix || r.PrefixTokens is not { } prefixTokens || prefixTokens < options.MinPrefixTokens || !SavingsRecords.CleanlyBilled(r)) return;
        if (pricing.ListedPrice(r) is not { } listed || listed.Prices.CachedInput is not { } cachedInput || cachedInput >= listed.Prices.Input) return;
        if (RecordPricing.Factor(r, listed) is not { } factor) return;
        var name = r.Deployment ?? $"{listed.Provider}/{listed.Model}";
        if (!_deployments.TryGetValue(name, out var deployment)) _deployments[name] = deployment = new Deployment();
        if (r.At.UtcTicks > deployment.PricedAt)
        {
            (deployment.Provider, deployment.Model, deployment.InputPrice, deployment.CachedInputPrice, deployment.PricedAt) =
                (listed.Provider, listed.Model, listed.Prices.Input, cachedInput, r.At.UtcTicks);
        }

        deployment.LongPrefixRequests++;
        // what the provider already read from (or wrote to) its cache is not saved again
        var uncached = Math.Max(0, Math.Min(prefixTokens, r.PromptTokens) - r.CachedTokens - r.CacheWriteTokens);
        var p = listed.Prices;
        var hit = uncached * (p.Input - cachedInput) / 1_000_000m * factor;
        var premium = uncached * Math.Max(0m, p.CacheWrite5mOrInput - p.Input) / 1_000_000m * factor;
        if (!_prefixes.TryGetValue((name, prefix), out var list)) _prefixes[(name, prefix)] = list = new List<Occurrence>(1);
        list.Add(new Occurrence(r.At.UtcTicks, hit, premium, uncached));
    }

    public IEnumerable<Recommendation> Recommend(SavingsWindow window)
    {
        var ttl = TimeSpan.FromSeconds(options.PromptCacheTtlSeconds).Ticks;
        var found = new Dictionary<string, (long Hits, long Tokens, decimal Saving, decimal Premium, long Prefixes)>(StringComparer.Ordinal);
        foreach (var ((name, _), list) in _prefixes)
        {
            // in time order, ties broken by value, so that the same records give the same figures in any order
            list.Sort(static (a, b) => a.Ticks != b.Ticks ? a.Ticks.CompareTo(b.Ticks) : a.HitSaving != b.HitSaving ? a.HitSaving.CompareTo(b.HitSaving) : a.WritePremium.CompareTo(b.WritePremium));
            long? lastUse = null;
            long hits = 0, tokens = 0;
            decimal saving = 0m, premium = 0m;
            foreach (var o in list)
            {
                // every use keeps the entry alive for another TTL
                if (lastUse is { } last && o.Ticks - last <= ttl)
                {
                    if (o.UncachedTokens > 0) hits++;
                    tokens += o.UncachedTokens;
                    saving += o.HitSaving;
                }
                else premium += o.WritePremium;
                lastUse = o.Ticks;
            }

            var sum = found.GetValueOrDefault(name);
            found[name] = (sum.Hits + hits, sum.Tokens + tokens, sum.Saving + saving, sum.Premium + premium, sum.Prefixes + (hits > 0 ? 1 : 0));
        }

        foreach (var (name, f) in found)
        {
            var d = _deployments[name];
            var net = f.Saving - f.Premium;
            if (f.Hits < options.MinRequests || net <= 0) continue;
            var how = d.Provider == "anthropic"
                ? "Mark the end of the shared prefix with cache_control (type ephemeral) so that Anthropic caches it."
                : "Keep the system message and tools first in every request and byte-for-byte the same (no dates or ids in them): the provider then caches them by itself.";
            var summary = $"On deployment '{name}' ({d.Model}), {SavingsText.Count(f.Prefixes, "prompt prefix", "prompt prefixes")} of at least {SavingsText.Count(options.MinPrefixTokens)} tokens " +
                $"(system messages, tools, earlier turns) came back within {SavingsText.Duration(options.PromptCacheTtlSeconds)} of their last use in " +
                $"{SavingsText.Count(f.Hits)} requests, with {SavingsText.Count(f.Tokens)} prefix tokens not read from the provider's cache. Cached, those tokens bill at " +
                $"{SavingsText.Usd(d.CachedInputPrice)} instead of {SavingsText.PerMillion(d.InputPrice)}: {SavingsText.Usd(f.Saving)} less" +
                (f.Premium > 0 ? $", minus {SavingsText.Usd(f.Premium)} for writing the prefixes to the cache." : ".") + " " + how;
            yield return new Recommendation(
                RecommendationKind.PromptCaching,
                new RecommendationScope(RecommendationScope.Deployment, name),
                $"Cache the repeated prompt prefixes on deployment '{name}'",
                new FigureList()
                    .Add("long_prefix_requests", d.LongPrefixRequests)
                    .Add("repeated_prefixes", f.Prefixes)
                    .Add("cacheable_requests", f.Hits)
                    .Add("cacheable_prefix_tokens", f.Tokens)
                    .Add("input_price_per_million_usd", d.InputPrice)
                    .Add("cached_input_price_per_million_usd", d.CachedInputPrice)
                    .Add("cache_write_premium_usd", SavingsText.Micro(f.Premium))
                    .Add("observed_saving_usd", SavingsText.Micro(net))
                    .With(summary),
                window.MonthlyUsd(net),
                SavingsConfidence.Medium);
        }
    }
}
