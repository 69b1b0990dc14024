namespace Gateway.Core.Health;

/// <summary>How a check, a deployment or the whole instance stands.</summary>
public enum HealthStatus
{
    /// <summary>Working.</summary>
    Healthy,

    /// <summary>Serving, with less: e.g. a deployment whose circuit is open (requests go to the others).</summary>
    Degraded,

    /// <summary>Not working: an instance with an unhealthy dependency check is not ready.</summary>
    Unhealthy,
}
