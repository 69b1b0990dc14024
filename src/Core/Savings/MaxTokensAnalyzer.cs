using Gateway.Core.Usage;

namespace Gateway.Core.Savings;

/// <summary>
/// <c>max_tokens</c> right-sizing, per key and model: when the usual cap (the median <see cref="UsageRecord.MaxTokens"/>)
/// is at least <see cref="SavingsOptions.MaxTokensHeadroom"/> times the 99th percentile of the answers' tokens and hardly
/// any answer was cut off by it (<see cref="SavingsOptions.MaxLengthFinishShare"/>), a cap of that percentile times
/// <see cref="SavingsOptions.SuggestedMaxTokensFactor"/> is suggested. Honestly, it saves no money — providers bill the
/// tokens generated, not the cap — so its saving is $0; the evidence gives what it frees: the tokens (and their price)
/// budgets reserve and tokens-per-minute limits count up front for every request. An answer of several choices counts
/// their total against the cap of one (it can only make the percentile higher, the suggestion more cautious). Needs the
/// request shape: older records are left out.
/// </summary>
internal sealed class MaxTokensAnalyzer(RecordPricing pricing, SavingsOptions options) : ISavingsAnalyzer
{
    private const int Round = 64;

    private sealed class Group
    {
        public string? KeyName;
        public long Requests;
        public long CutOff;
        public decimal OutputPriceSum;
        public long Priced;
        public readonly Dictionary<long, long> Completions = [];
        public readonly Dictionary<long, long> Caps = [];
    }

    private readonly Dictionary<(string Key, string Model), Group> _groups = [];

    public void Add(UsageRecord r)
    {
        if (r.RequestHash is null || r.MaxTokens is not { } cap || r.Outcome != UsageOutcomes.Success) return;
        var key = (r.KeyId, r.ModelRequested ?? r.ModelServed ?? "");
        if (!_groups.TryGetValue(key, out var group)) _groups[key] = group = new Group();
        group.KeyName = SavingsText.Name(group.KeyName, r.KeyName);
        group.Requests++;
        if (r.FinishReason == "length") group.CutOff++;
        group.Completions[r.CompletionTokens] = group.Completions.GetValueOrDefault(r.CompletionTokens) + 1;
        group.Caps[cap] = group.Caps.GetValueOrDefault(cap) + 1;
        if (pricing.ListedPrice(r) is { } listed)
        {
            group.OutputPriceSum += listed.Prices.Output;
            group.Priced++;
        }
    }

    /// <summary>The nearest-rank percentile of a histogram of values.</summary>
    private static long Percentile(Dictionary<long, long> histogram, long count, double p)
    {
        var rank = (long)Math.Ceiling(p * count);
        long seen = 0;
        foreach (var (value, n) in histogram.OrderBy(h => h.Key))
        {
            seen += n;
            if (seen >= rank) return value;
        }

        return histogram.Keys.Max();
    }

    public IEnumerable<Recommendation> Recommend(SavingsWindow window)
    {
        foreach (var ((keyId, model), g) in _groups)
        {
            if (g.Requests < options.MinRequests) continue;
            var cutOffShare = (double)g.CutOff / g.Requests;
            var p99 = Percentile(g.Completions, g.Requests, 0.99);
            var usualCap = Percentile(g.Caps, g.Requests, 0.5);
            if (cutOffShare > options.MaxLengthFinishShare || usualCap < options.MaxTokensHeadroom * Math.Max(1, p99)) continue;
            var suggested = Math.Max(Round, (long)Math.Ceiling(Math.Max(1, p99) * options.SuggestedMaxTokensFactor / Round) * Round);
            if (suggested >= usualCap) continue;
            var freed = g.Caps.Sum(c => Math.Max(0, c.Key - suggested) * c.Value);
            var freedPerMonth = window.PerMonth(freed);
            var reservedUsd = g.Priced == 0 ? 0m : SavingsText.Cents(freedPerMonth * (g.OutputPriceSum / g.Priced) / 1_000_000m);
            var who = SavingsText.Key(keyId, g.KeyName);
            var summary = $"{char.ToUpperInvariant(who[0])}{who[1..]} usually asks '{model}' for up to {SavingsText.Count(usualCap)} tokens (the median max_tokens), but 99 % of its " +
                $"{SavingsText.Count(g.Requests)} answers used at most {SavingsText.Count(p99)} (the longest {SavingsText.Count(g.Completions.Keys.Max())}; {(g.CutOff == 0 ? "none" : SavingsText.Count(g.CutOff))} cut off by the cap). " +
                $"A cap of {SavingsText.Count(suggested)} would free about {SavingsText.Count(freedPerMonth)} output tokens a month (about {SavingsText.Usd(reservedUsd)} at the output price) that " +
                "budgets reserve and tokens-per-minute limits count while each request runs, so fewer requests wait or are refused. It saves no money: providers bill the tokens " +
                "generated, not the cap.";
            yield return new Recommendation(
                RecommendationKind.MaxTokens,
                new RecommendationScope(RecommendationScope.Key, keyId),
                $"Lower max_tokens of {who} for '{model}' from {SavingsText.Count(usualCap)} to {SavingsText.Count(suggested)}",
                new FigureList()
                    .Add("requests", g.Requests)
                    .Add("median_max_tokens", usualCap)
                    .Add("completion_tokens_p99", p99)
                    .Add("completion_tokens_max", g.Completions.Keys.Max())
                    .Add("cut_off_requests", g.CutOff)
                    .Add("suggested_max_tokens", suggested)
                    .Add("reserved_tokens_freed_per_month", freedPerMonth)
                    .Add("reserved_usd_freed_per_month", reservedUsd)
                    .With(summary),
                0m,
                g.CutOff == 0 && g.Requests >= 5L * options.MinRequests ? SavingsConfidence.High : SavingsConfidence.Medium);
        }
    }
}
