namespace Gateway.Core.Health;

/// <summary>The readiness probe, <c>GET /health/ready</c> (section <c>Gateway:Health</c>).</summary>
public sealed class HealthOptions
{
    /// <summary>How long one dependency check may take before it counts as unhealthy (checks run in parallel).</summary>
    public double CheckTimeoutSeconds { get; set; } = 3;

    /// <summary>How long the dependency checks' results are reused, so probes from several load balancers cost one set of calls.</summary>
    public double CacheSeconds { get; set; } = 2;

    /// <summary>Every problem with these settings, each naming its setting.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (double.IsNaN(CheckTimeoutSeconds) || CheckTimeoutSeconds <= 0 || CheckTimeoutSeconds > 60)
            errors.Add("Gateway:Health:CheckTimeoutSeconds must be above 0 and at most 60.");
        if (double.IsNaN(CacheSeconds) || CacheSeconds < 0 || CacheSeconds > 300)
            errors.Add("Gateway:Health:CacheSeconds must be between 0 and 300.");
        return errors;
    }
}
