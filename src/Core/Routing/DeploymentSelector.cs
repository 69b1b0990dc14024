using Gateway.Core.Configuration;

namespace Gateway.Core.Routing;

/// <summary>Picks a deployment for a model: the lowest priority number wins; within it, a weighted random choice.</summary>
public sealed class DeploymentSelector(Func<int, int>? random = null)
{
    private readonly Func<int, int> _random = random ?? Random.Shared.Next;

    public DeploymentOptions Select(CatalogModel model) => Ordered(model)[0];

    /// <summary>All deployments in the order they should be tried: by priority, and weighted-random within a priority.</summary>
    public IReadOnlyList<DeploymentOptions> Ordered(CatalogModel model)
    {
        var deployments = model.Deployments;
        if (deployments.Count == 1) return deployments;
        var result = new List<DeploymentOptions>(deployments.Count);
        foreach (var tier in deployments.GroupBy(d => d.Priority).OrderBy(g => g.Key))
        {
            var remaining = tier.ToList();
            while (remaining.Count > 0)
            {
                // Summed as long: weights the validator accepts may add up past int.MaxValue.
                var total = remaining.Sum(d => (long)d.Weight);
                var pick = total <= int.MaxValue
                    ? _random((int)total)
                    : Math.Min(total - 1, (long)((double)_random(int.MaxValue) / int.MaxValue * total));
                var index = 0;
                while (pick >= remaining[index].Weight) { pick -= remaining[index].Weight; index++; }
                result.Add(remaining[index]);
                remaining.RemoveAt(index);
            }
        }
        return result;
    }
}
