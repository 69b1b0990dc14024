using System.Globalization;
using Gateway.Core.Configuration;
using Gateway.Core.Resilience;
using Polly.CircuitBreaker;

namespace Gateway.Core.Health;

/// <summary>
/// A catalog deployment's last known state on this instance: its circuit breaker (breakers are per instance), read from
/// memory — the provider is never called for it. A closed circuit is healthy; open, half-open or isolated is degraded.
/// </summary>
public sealed record DeploymentHealth(string Name, HealthStatus Status, string Breaker, string Detail)
{
    /// <summary>Every deployment the catalog routes to, by name, with its breaker's state.</summary>
    public static IReadOnlyList<DeploymentHealth> Of(ModelCatalog catalog, DeploymentBreakers breakers)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(breakers);
        var known = breakers.States.ToDictionary(s => s.Deployment, s => s.State, StringComparer.Ordinal);
        var last = new Dictionary<string, BreakerEvent>(StringComparer.Ordinal);
        foreach (var change in breakers.Events) last[change.Deployment] = change;
        return [.. catalog.Models
            .SelectMany(m => m.Deployments.Select(d => d.Name))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .Select(name =>
            {
                CircuitState? state = known.TryGetValue(name, out var s) ? s : null;
                // Polly reports a change to its observer a moment after the state itself: a time is only shown once it is this state's
                DateTimeOffset? since = last.TryGetValue(name, out var change) && change.State == state ? change.At : null;
                return Describe(name, state, since);
            })];
    }

    private static DeploymentHealth Describe(string name, CircuitState? state, DateTimeOffset? since)
    {
        var at = since is { } t ? " since " + t.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) : "";
        return state switch
        {
            null => new(name, HealthStatus.Healthy, BreakerReport.Name(CircuitState.Closed), "circuit closed; not called yet on this instance"),
            CircuitState.Closed => new(name, HealthStatus.Healthy, BreakerReport.Name(CircuitState.Closed), "circuit closed" + at),
            CircuitState.Open => new(name, HealthStatus.Degraded, BreakerReport.Name(CircuitState.Open),
                "circuit open" + at + ": requests go to other deployments until a probe call succeeds"),
            CircuitState.HalfOpen => new(name, HealthStatus.Degraded, BreakerReport.Name(CircuitState.HalfOpen), "circuit half-open" + at + ": a probe call is testing it"),
            _ => new(name, HealthStatus.Degraded, BreakerReport.Name(state.Value), "circuit isolated" + at + ": no calls go to it"),
        };
    }
}
