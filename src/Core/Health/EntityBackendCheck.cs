using Gateway.Core.Entities;
using Gateway.Core.Routing;

namespace Gateway.Core.Health;

/// <summary>
/// Durable: one read of the stop list entity, which every instance reads anyway. The entity store answering — with the
/// list or with nothing stored yet — is healthy; an error or no answer within the check's timeout is not.
/// </summary>
public sealed class EntityBackendCheck(IEntityChannel channel) : IHealthCheck
{
    public const string CheckName = "durable";

    public string Name => CheckName;

    public async Task<HealthProbe> CheckAsync(CancellationToken cancellationToken)
    {
        if (!channel.IsReady) return HealthProbe.Unhealthy("no Durable client on this instance yet");
        var envelope = await channel.ReadAsync(new EntityAddress(StopsEntityKind.EntityName, StopsEntityKind.Key), cancellationToken).ConfigureAwait(false);
        return HealthProbe.Healthy(envelope is null ? "entity store answered (no stop list stored yet)" : "entity store answered");
    }
}
