using Gateway.Core.Budgets;
using Gateway.Core.RateLimits;
using Gateway.Core.Routing;

namespace Gateway.Core.Entities;

/// <summary>The gateway's entity kinds, and a channel holding them in this process.</summary>
public static class LocalEntities
{
    /// <summary>Every kind of entity the gateway uses.</summary>
    public static IReadOnlyList<IEntityKind> Kinds { get; } =
        [BudgetEntityKind.Instance, RateLimitEntityKind.Instance, UpstreamEntityKind.Instance, StopsEntityKind.Instance];

    public static InMemoryEntityChannel Create(TimeProvider time) => new(time, [.. Kinds]);
}
