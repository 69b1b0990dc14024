using Gateway.Core.Configuration;
using Gateway.Core.Usage;

namespace Gateway.Core.Savings;

/// <summary>
/// The same model for less elsewhere, per deployment: every other configured deployment billed as the same catalog model
/// (another provider, a negotiated price, a discount) prices the deployment's requests at its own price; the cheapest,
/// when it is at least <see cref="SavingsOptions.MinCheaperFraction"/> cheaper, is recommended. Batch and free deployments
/// are not alternatives (batch is its own kind; a free one is a self-hosted model under the same name). High confidence
/// when the cheaper deployment already serves the same public model (a weight or priority to change), medium otherwise.
/// Needs only what every record has.
/// </summary>
internal sealed class CheaperDeploymentAnalyzer(RecordPricing pricing, SavingsOptions options) : ISavingsAnalyzer
{
    private sealed class Group
    {
        public string Model = "";
        public string? Provider;
        public long Requests;
        public decimal Spend;
        public readonly Dictionary<string, decimal> CostThere = new(StringComparer.Ordinal);
        /// <summary>Alternatives that could not price one of the requests (no price on its day): they cannot take the traffic.</summary>
        public readonly HashSet<string> Unpriced = new(StringComparer.Ordinal);
    }

    private readonly Dictionary<(string Deployment, string Model), Group> _groups = [];
    private readonly Dictionary<(string Model, string Deployment), DeploymentOptions[]> _alternatives = [];

    public void Add(UsageRecord r)
    {
        if (r.Deployment is not { } name || !SavingsRecords.CleanlyBilled(r) || pricing.ListedPrice(r) is not { } listed) return;
        var alternatives = Alternatives(listed.Model, name, r.At);
        if (alternatives.Length == 0) return;
        if (!_groups.TryGetValue((name, listed.Model), out var group)) _groups[(name, listed.Model)] = group = new Group { Model = listed.Model, Provider = r.Provider };
        group.Requests++;
        group.Spend += r.CostUsd;
        foreach (var alternative in alternatives)
        {
            if (pricing.CostOn(alternative, r) is { } cost) group.CostThere[alternative.Name] = group.CostThere.GetValueOrDefault(alternative.Name) + cost;
            else group.Unpriced.Add(alternative.Name);
        }
    }

    private DeploymentOptions[] Alternatives(string model, string deployment, DateTimeOffset at)
    {
        if (_alternatives.TryGetValue((model, deployment), out var found)) return found;
        found = [.. pricing.Deployments.Where(d => !string.Equals(d.Name, deployment, StringComparison.OrdinalIgnoreCase) && !d.Pricing.Batch && !d.Pricing.Free
            && string.Equals(pricing.ListedPrice(d, at)?.Model, model, StringComparison.OrdinalIgnoreCase))];
        _alternatives[(model, deployment)] = found;
        return found;
    }

    public IEnumerable<Recommendation> Recommend(SavingsWindow window)
    {
        foreach (var ((name, _), g) in _groups)
        {
            var cheapest = g.CostThere.Where(c => !g.Unpriced.Contains(c.Key)).OrderBy(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).ToList();
            if (cheapest.Count == 0) continue;
            var (best, there) = (cheapest[0].Key, cheapest[0].Value);
            var saving = g.Spend - there;
            var fraction = g.Spend > 0 ? (double)(saving / g.Spend) : 0;
            if (g.Requests < options.MinRequests || fraction < options.MinCheaperFraction) continue;
            var current = pricing.ModelsServedBy(name);
            var shared = pricing.ModelsServedBy(best).Where(current.Contains).ToList();
            var alternative = pricing.Deployment(best)!;
            var how = shared.Count > 0
                ? $"It already serves '{shared[0]}': give it a higher weight, or this one a lower priority."
                : $"Add it to the deployments of {(current.Count > 0 ? $"'{current[0]}'" : "the model")}.";
            var summary = $"The {SavingsText.Count(g.Requests)} requests deployment '{name}' ({g.Provider}) answered with {g.Model} cost {SavingsText.Usd(g.Spend)}; the same tokens on " +
                $"deployment '{best}' ({alternative.Provider.ToLowerInvariant()}), billed as the same model, would have cost {SavingsText.Usd(there)}, {SavingsText.Share(fraction)} less. {how}";
            yield return new Recommendation(
                RecommendationKind.CheaperDeployment,
                new RecommendationScope(RecommendationScope.Deployment, name),
                $"Serve {g.Model} from deployment '{best}' instead of '{name}'",
                new FigureList()
                    .Add("requests", g.Requests)
                    .Add("spend_usd", SavingsText.Micro(g.Spend))
                    .Add("cost_on_cheaper_deployment_usd", SavingsText.Micro(there))
                    .Add("cheaper_fraction", SavingsText.Ratio(fraction))
                    .Add("observed_saving_usd", SavingsText.Micro(saving))
                    .With(summary),
                window.MonthlyUsd(saving),
                shared.Count > 0 ? SavingsConfidence.High : SavingsConfidence.Medium);
        }
    }
}
