using Gateway.Core.Budgets;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Client.Entities;
using Microsoft.DurableTask.Entities;

namespace Gateway.Functions.Budgets;

/// <summary>A command for one budget entity, as an orchestration's input.</summary>
public sealed record BudgetCall(string Scope, BudgetCommand Command);

/// <summary>
/// Budgets in Durable Entities. An operation that must answer (reserve, lease, settle) runs as a tiny orchestration that
/// calls the entity and returns its result — a round trip through the task hub, which is why the gate keeps it off the
/// path of requests far from every limit. The client comes from the functions' <c>[DurableClient]</c> binding.
/// </summary>
public sealed class DurableBudgetBackend(TimeProvider time) : IBudgetBackend
{
    public const string Orchestrator = "BudgetCall";
    private DurableTaskClient? _client;

    /// <summary>Hands over the Durable client (every function that may reach budgets attaches the one it was given).</summary>
    public void Attach(DurableTaskClient client) => Interlocked.CompareExchange(ref _client, client, null);

    private DurableTaskClient Client => _client ?? throw new InvalidOperationException("The Durable client has not been attached yet.");

    public static EntityInstanceId EntityId(BudgetScope scope) => new(BudgetEntity.Name, scope.ToString());

    public Task<BudgetCommandResult> SendAsync(BudgetScope scope, BudgetCommand command, CancellationToken cancellationToken) =>
        DurableCalls.RunAsync<BudgetCommandResult>(_client, Orchestrator, new BudgetCall(scope.ToString(), command), $"budget call for {scope}", cancellationToken);

    public async Task<IReadOnlyList<BudgetSnapshot>> ListAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var list = new List<BudgetSnapshot>();
        var query = new EntityQuery { InstanceIdStartsWith = "@" + BudgetEntity.Name + "@", IncludeState = true };
        await foreach (var entity in Client.Entities.GetAllEntitiesAsync<BudgetEntityState>(query).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (entity.State?.Budget is { } json) list.Add(BudgetMachine.GetState(BudgetStateCodec.Deserialize(json), now));
        }

        return list;
    }

    /// <summary>Calls the budget entity and returns its answer (the orchestration behind <see cref="SendAsync"/>).</summary>
    [Function(Orchestrator)]
    public static Task<BudgetCommandResult> RunOrchestrator([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        var call = context.GetInput<BudgetCall>() ?? throw new InvalidOperationException("A budget call needs its input.");
        return context.Entities.CallEntityAsync<BudgetCommandResult>(EntityId(BudgetScope.Parse(call.Scope)), nameof(BudgetEntity.Apply), call.Command);
    }
}
