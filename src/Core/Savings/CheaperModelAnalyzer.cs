using Gateway.Core.Pricing;
using Gateway.Core.Usage;

namespace Gateway.Core.Savings;

/// <summary>
/// A cheaper model of the same family where the traffic looks like it fits: requests with a short prompt
/// (<see cref="SavingsOptions.ShortPromptTokens"/>), a short answer that was not cut off
/// (<see cref="SavingsOptions.ShortCompletionTokens"/>) and no tools, priced at the sibling's list prices (scaled by what
/// each record really cost over its own list price). Needs <see cref="UsageRecord.ToolsOffered"/>: older records are left out.
/// Medium confidence where the gateway already serves the sibling, low where it would need a deployment first — either
/// way the answers' quality is for the team to check.
/// </summary>
internal sealed class CheaperModelAnalyzer(RecordPricing pricing, SavingsOptions options) : ISavingsAnalyzer
{
    private sealed class Group
    {
        public long Requests;
        public long Fitting;
        public long FittingPromptTokens;
        public long FittingCompletionTokens;
        public decimal FittingSpend;
        public decimal FittingCostThere;
    }

    private readonly Dictionary<(string Model, string Current, string Sibling), Group> _groups = [];

    public void Add(UsageRecord r)
    {
        if (r.ToolsOffered is not { } tools || !SavingsRecords.CleanlyBilled(r)) return;
        if (pricing.ListedPrice(r) is not { } listed || pricing.CheaperSibling(listed, r.At) is not { } sibling) return;
        var key = (r.ModelRequested ?? listed.Model, listed.Model, sibling.Model);
        if (!_groups.TryGetValue(key, out var group)) _groups[key] = group = new Group();
        group.Requests++;
        var fits = tools == 0 && r.PromptTokens <= options.ShortPromptTokens && r.CompletionTokens <= options.ShortCompletionTokens && r.FinishReason != "length";
        if (!fits || RecordPricing.Factor(r, listed) is not { } factor) return;
        group.Fitting++;
        group.FittingPromptTokens += r.PromptTokens;
        group.FittingCompletionTokens += r.CompletionTokens;
        group.FittingSpend += r.CostUsd;
        group.FittingCostThere += CostCalculator.Compute(sibling.Prices, sibling.LongContext, RecordPricing.Usage(r)).Total * factor;
    }

    public IEnumerable<Recommendation> Recommend(SavingsWindow window)
    {
        foreach (var ((model, current, sibling), g) in _groups)
        {
            var observed = g.FittingSpend - g.FittingCostThere;
            if (g.Fitting < options.MinRequests || observed <= 0) continue;
            var target = pricing.PublicModelFor(sibling, window.End);
            var share = (double)g.Fitting / g.Requests;
            var where = target is null
                ? $"{sibling} is not served by this gateway yet: add a deployment for it, then route these requests there."
                : (target == sibling ? $"'{target}' is served here" : $"'{target}' serves {sibling} here") + $": have the callers of '{model}' whose requests look like these ask for it.";
            var served = string.Equals(model, current, StringComparison.OrdinalIgnoreCase) ? $"'{model}'" : $"'{model}' ({current})";
            var summary = $"{SavingsText.Count(g.Fitting)} of {SavingsText.Count(g.Requests)} requests ({SavingsText.Share(share)}) for {served} had a prompt of at most " +
                $"{SavingsText.Count(options.ShortPromptTokens)} tokens, an answer of at most {SavingsText.Count(options.ShortCompletionTokens)} tokens and no tools; at {sibling}'s prices " +
                $"they would have cost {SavingsText.Usd(g.FittingCostThere)} instead of {SavingsText.Usd(g.FittingSpend)}. {where} Check the answers' quality on a sample first.";
            yield return new Recommendation(
                RecommendationKind.CheaperModel,
                new RecommendationScope(RecommendationScope.Model, model),
                $"Send short requests for '{model}' to {(target is null ? sibling : $"'{target}'")}",
                new FigureList()
                    .Add("requests", g.Requests)
                    .Add("fitting_requests", g.Fitting)
                    .Add("fitting_share", SavingsText.Ratio(share))
                    .Add("avg_prompt_tokens", Math.Round((decimal)g.FittingPromptTokens / g.Fitting, 1))
                    .Add("avg_completion_tokens", Math.Round((decimal)g.FittingCompletionTokens / g.Fitting, 1))
                    .Add("fitting_spend_usd", SavingsText.Micro(g.FittingSpend))
                    .Add("cost_at_cheaper_model_usd", SavingsText.Micro(g.FittingCostThere))
                    .Add("observed_saving_usd", SavingsText.Micro(observed))
                    .With(summary),
                window.MonthlyUsd(observed),
                target is null ? SavingsConfidence.Low : SavingsConfidence.Medium);
        }
    }
}
