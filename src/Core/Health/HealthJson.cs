using System.Text.Json.Nodes;

namespace Gateway.Core.Health;

/// <summary>The health routes' JSON words.</summary>
public static class HealthJson
{
    /// <summary>healthy, degraded or unhealthy.</summary>
    public static string Name(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => "healthy",
        HealthStatus.Degraded => "degraded",
        _ => "unhealthy",
    };

    /// <summary>The body of <c>GET /health</c>: the process answers; nothing else is looked at.</summary>
    public static JsonObject Liveness() => new() { ["status"] = Name(HealthStatus.Healthy) };
}
