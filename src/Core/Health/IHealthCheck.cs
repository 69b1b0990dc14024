namespace Gateway.Core.Health;

/// <summary>
/// A dependency an instance cannot serve without (storage, Durable), probed with one cheap call. An unhealthy result makes
/// the instance not ready. The probe is cancelled when it outlives <see cref="HealthOptions.CheckTimeoutSeconds"/>.
/// </summary>
public interface IHealthCheck
{
    /// <summary>The name shown in the report: what kind of dependency it is (<c>table</c>, <c>durable</c>), never an account or host.</summary>
    string Name { get; }

    /// <summary>Probes once. Expected failures are answered as an unhealthy probe whose detail holds no secret; anything else may throw.</summary>
    Task<HealthProbe> CheckAsync(CancellationToken cancellationToken);
}
