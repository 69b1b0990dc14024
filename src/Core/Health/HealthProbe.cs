namespace Gateway.Core.Health;

/// <summary>What one check found: its status and a short detail that names no account, host, address or key.</summary>
public readonly record struct HealthProbe(HealthStatus Status, string Detail)
{
    public static HealthProbe Healthy(string detail) => new(HealthStatus.Healthy, detail);

    public static HealthProbe Degraded(string detail) => new(HealthStatus.Degraded, detail);

    public static HealthProbe Unhealthy(string detail) => new(HealthStatus.Unhealthy, detail);
}
