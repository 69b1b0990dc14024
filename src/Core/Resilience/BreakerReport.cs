using System.Globalization;
using System.Text.Json.Nodes;
using Gateway.Core.Configuration;
using Polly.CircuitBreaker;

namespace Gateway.Core.Resilience;

/// <summary>
/// Every catalog deployment's circuit breaker as one instance knows it (breakers are per instance): its state, whether
/// this instance has called it yet, and its last state change. Read by the dashboard.
/// </summary>
public static class BreakerReport
{
    public static JsonObject ToJson(ModelCatalog catalog, DeploymentBreakers breakers, string instance)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(breakers);
        var known = breakers.States.ToDictionary(s => s.Deployment, s => s.State, StringComparer.Ordinal);
        var last = new Dictionary<string, BreakerEvent>(StringComparer.Ordinal);
        foreach (var e in breakers.Events) last[e.Deployment] = e;
        var deployments = new JsonArray();
        foreach (var group in catalog.Models
            .SelectMany(m => m.Deployments.Select(d => (Model: m.Name, Deployment: d)))
            .GroupBy(x => x.Deployment.Name, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var deployment = group.First().Deployment;
            var o = new JsonObject
            {
                ["deployment"] = group.Key,
                ["provider"] = deployment.Provider,
                ["models"] = new JsonArray([.. group.Select(x => (JsonNode)x.Model).Distinct()]),
                ["state"] = Name(known.TryGetValue(group.Key, out var state) ? state : CircuitState.Closed),
                ["called"] = known.ContainsKey(group.Key),
            };
            if (last.TryGetValue(group.Key, out var change))
                o["last_change"] = new JsonObject { ["state"] = Name(change.State), ["at"] = change.At.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) };
            deployments.Add(o);
        }

        return new JsonObject { ["object"] = "breakers", ["instance"] = instance, ["deployments"] = deployments };
    }

    /// <summary>closed, open, half_open or isolated.</summary>
    public static string Name(CircuitState state) => state switch
    {
        CircuitState.Closed => "closed",
        CircuitState.Open => "open",
        CircuitState.HalfOpen => "half_open",
        _ => "isolated",
    };
}
