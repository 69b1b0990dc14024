namespace Gateway.Core.Health;

/// <summary>One dependency check as run: its name, status, how long it took and a short non-secret detail.</summary>
public sealed record HealthCheckResult(string Name, HealthStatus Status, TimeSpan Duration, string Detail);
