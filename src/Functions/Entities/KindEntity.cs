using Gateway.Core.Budgets;
using Gateway.Core.Entities;
using Gateway.Core.RateLimits;
using Gateway.Core.Routing;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Entities;

namespace Gateway.Functions.Entities;

/// <summary>
/// Every gateway entity: one operation, <see cref="Apply"/>, that hands the message to its kind's pure machine
/// (<see cref="IEntityKind.Apply"/>) and keeps the envelope it returns. The Durable runtime runs one operation at a time
/// per entity, which is what makes decisions near a limit exact; an entity with nothing left to keep is deleted.
/// </summary>
public abstract class KindEntity(TimeProvider time, IEntityKind kind) : TaskEntity<EntityEnvelope?>
{
    public void Apply(EntityMessage message)
    {
        var next = kind.Apply(State, message, time.GetUtcNow());
        State = next.IsEmpty ? null : next;
    }

    protected override EntityEnvelope? InitializeState(TaskEntityOperation entityOperation) => null;
}

/// <summary>One entity per budget scope (key = the scope, e.g. <c>team:payments</c>).</summary>
public sealed class BudgetEntity(TimeProvider time) : KindEntity(time, BudgetEntityKind.Instance)
{
    [Function(BudgetEntityKind.EntityName)]
    public static Task Run([EntityTrigger] TaskEntityDispatcher dispatcher) => dispatcher.DispatchAsync<BudgetEntity>();
}

/// <summary>One entity per rate-limited counter (key <c>key:…</c> or <c>key:…|model:…</c>).</summary>
public sealed class RateLimitEntity(TimeProvider time) : KindEntity(time, RateLimitEntityKind.Instance)
{
    [Function(RateLimitEntityKind.EntityName)]
    public static Task Run([EntityTrigger] TaskEntityDispatcher dispatcher) => dispatcher.DispatchAsync<RateLimitEntity>();
}

/// <summary>One entity per deployment with a provider quota (key = the deployment's name).</summary>
public sealed class UpstreamEntity(TimeProvider time) : KindEntity(time, UpstreamEntityKind.Instance)
{
    [Function(UpstreamEntityKind.EntityName)]
    public static Task Run([EntityTrigger] TaskEntityDispatcher dispatcher) => dispatcher.DispatchAsync<UpstreamEntity>();
}

/// <summary>The model and provider stop list (one entity, key <c>all</c>).</summary>
public sealed class StopsEntity(TimeProvider time) : KindEntity(time, StopsEntityKind.Instance)
{
    [Function(StopsEntityKind.EntityName)]
    public static Task Run([EntityTrigger] TaskEntityDispatcher dispatcher) => dispatcher.DispatchAsync<StopsEntity>();
}
