using System.Globalization;
using System.Text.Json.Nodes;

namespace Gateway.Core.Health;

/// <summary>
/// The answer of <c>GET /health/ready</c>. The status rules: any dependency check (storage, Durable) unhealthy makes the
/// instance <c>unhealthy</c> (HTTP 503: take it out of rotation); else any degraded check or any deployment whose circuit
/// is not closed makes it <c>degraded</c> (HTTP 200: it still serves — other deployments, other models — and taking it out
/// would not help, as every instance meets the same provider); else <c>healthy</c>.
/// </summary>
public sealed record ReadinessReport(HealthStatus Status, DateTimeOffset CheckedAt, IReadOnlyList<HealthCheckResult> Checks, IReadOnlyList<DeploymentHealth> Deployments)
{
    public static ReadinessReport Create(IReadOnlyList<HealthCheckResult> checks, IReadOnlyList<DeploymentHealth> deployments, DateTimeOffset checkedAt)
    {
        ArgumentNullException.ThrowIfNull(checks);
        ArgumentNullException.ThrowIfNull(deployments);
        return new(Combine(checks, deployments), checkedAt, checks, deployments);
    }

    /// <summary>The instance's status from its checks and deployments (see the type's summary).</summary>
    public static HealthStatus Combine(IEnumerable<HealthCheckResult> checks, IEnumerable<DeploymentHealth> deployments)
    {
        ArgumentNullException.ThrowIfNull(checks);
        ArgumentNullException.ThrowIfNull(deployments);
        var statuses = checks.Select(c => c.Status).ToList();
        if (statuses.Contains(HealthStatus.Unhealthy)) return HealthStatus.Unhealthy;
        return statuses.Contains(HealthStatus.Degraded) || deployments.Any(d => d.Status != HealthStatus.Healthy) ? HealthStatus.Degraded : HealthStatus.Healthy;
    }

    /// <summary>200 when the instance can take traffic (healthy or degraded), 503 when it cannot.</summary>
    public int HttpStatus => Status == HealthStatus.Unhealthy ? 503 : 200;

    public JsonObject ToJson()
    {
        var checks = new JsonArray();
        foreach (var c in Checks)
        {
            checks.Add(new JsonObject
            {
                ["name"] = c.Name,
                ["status"] = HealthJson.Name(c.Status),
                ["duration_ms"] = Math.Round(c.Duration.TotalMilliseconds, 1),
                ["detail"] = c.Detail,
            });
        }

        var deployments = new JsonArray();
        foreach (var d in Deployments)
            deployments.Add(new JsonObject { ["name"] = d.Name, ["status"] = HealthJson.Name(d.Status), ["breaker"] = d.Breaker, ["detail"] = d.Detail });
        return new JsonObject
        {
            ["status"] = HealthJson.Name(Status),
            ["checked_at"] = CheckedAt.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
            ["checks"] = checks,
            ["deployments"] = deployments,
        };
    }
}
