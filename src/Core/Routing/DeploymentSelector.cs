using Gateway.Core.Configuration;

namespace Gateway.Core.Routing;

/// <summary>The load-balancing modes a model may use among deployments of one priority.</summary>
public static class LoadBalancing
{
    public const string Weighted = "weighted";
    public const string LeastBusy = "least-busy";
    public const string Latency = "latency";

    public static readonly IReadOnlyList<string> All = [Weighted, LeastBusy, Latency];
}

/// <summary>
/// What each deployment is doing, as this instance sees it: requests in flight and an exponentially weighted moving
/// average of upstream latency (α = 0.2) over successful calls.
/// </summary>
public sealed class DeploymentStats
{
    private sealed class Entry
    {
        public int InFlight;
        public double LatencyMs = double.NaN;
        public readonly Lock Gate = new();
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    private Entry For(string deployment) => _entries.GetOrAdd(deployment, _ => new Entry());

    public void Begin(string deployment) => Interlocked.Increment(ref For(deployment).InFlight);

    public void End(string deployment, TimeSpan latency, bool success)
    {
        var e = For(deployment);
        Interlocked.Decrement(ref e.InFlight);
        if (!success) return;
        lock (e.Gate) e.LatencyMs = double.IsNaN(e.LatencyMs) ? latency.TotalMilliseconds : (0.8 * e.LatencyMs) + (0.2 * latency.TotalMilliseconds);
    }

    public int InFlight(string deployment) => _entries.TryGetValue(deployment, out var e) ? Volatile.Read(ref e.InFlight) : 0;

    /// <summary>The latency average, or NaN before the first successful call.</summary>
    public double LatencyMs(string deployment)
    {
        if (!_entries.TryGetValue(deployment, out var e)) return double.NaN;
        lock (e.Gate) return e.LatencyMs;
    }
}

/// <summary>
/// Orders a model's deployments for a request: the lowest priority number first; within a priority by the model's
/// load-balancing mode — <c>weighted</c> random by weight; <c>least-busy</c> fewest in flight per unit of weight;
/// <c>latency</c> lowest latency average, deployments not yet measured first (so each gets measured). Ties are broken
/// by a weighted random draw.
/// </summary>
public sealed class DeploymentSelector(Func<int, int>? random = null, DeploymentStats? stats = null)
{
    private readonly Func<int, int> _random = random ?? Random.Shared.Next;

    public DeploymentStats Stats { get; } = stats ?? new DeploymentStats();

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

        if (model.LoadBalancing == LoadBalancing.Weighted) return result;
        // the weighted draw above breaks ties; a stable sort within each priority applies the mode
        return model.LoadBalancing switch
        {
            LoadBalancing.LeastBusy => [.. result.OrderBy(d => d.Priority).ThenBy(d => (double)Stats.InFlight(d.Name) / Math.Max(1, d.Weight))],
            LoadBalancing.Latency => [.. result.OrderBy(d => d.Priority).ThenBy(d => double.IsNaN(Stats.LatencyMs(d.Name)) ? -1 : Stats.LatencyMs(d.Name))],
            _ => result,
        };
    }
}
