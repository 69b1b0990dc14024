using System.Collections.Concurrent;
using System.Text.Json;
using Gateway.Core.Budgets;
using Gateway.Functions.Budgets;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Entities;

namespace Gateway.Functions.Tests.Budgets;

/// <summary>
/// Runs the real entity classes the way the Durable runtime does: one operation at a time per entity id, state loaded
/// from and saved to its serialised form between operations, input and output serialised across the boundary.
/// (The Durable runtime itself needs the Functions host, which cannot run here.)
/// </summary>
public sealed class EntityHost(Func<ITaskEntity> create)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.General);
    private readonly ConcurrentDictionary<string, (SemaphoreSlim Gate, string? State)> _entities = new();

    public int Operations;

    public string? StoredState(string id) => _entities.TryGetValue(id, out var e) ? e.State : null;

    public async Task<TResult?> CallAsync<TResult>(EntityInstanceId id, string operation, object? input)
    {
        var key = id.ToString();
        var gate = _entities.GetOrAdd(key, _ => (new SemaphoreSlim(1, 1), null)).Gate;
        await gate.WaitAsync();
        try
        {
            Interlocked.Increment(ref Operations);
            var state = new HostState(_entities[key].State);
            var op = new HostOperation(operation, new HostContext(id), state, input is null ? null : JsonSerializer.Serialize(input, Json));
            var result = await create().RunAsync(op);
            _entities[key] = (gate, state.Json);
            // the result crosses the boundary serialised, as an orchestration's entity call result does
            return result is null ? default : JsonSerializer.Deserialize<TResult>(JsonSerializer.Serialize(result, result.GetType(), Json), Json);
        }
        finally
        {
            gate.Release();
        }
    }

    private sealed class HostState(string? json) : TaskEntityState
    {
        public string? Json { get; private set; } = json;

        public override bool HasState => Json is not null;

        public override object? GetState(Type type) => Json is null ? null : JsonSerializer.Deserialize(Json, type, EntityHost.Json);

        public override void SetState(object? state) => Json = state is null ? null : JsonSerializer.Serialize(state, state.GetType(), EntityHost.Json);
    }

    private sealed class HostContext(EntityInstanceId id) : TaskEntityContext
    {
        public override EntityInstanceId Id => id;

        public override void SignalEntity(EntityInstanceId id, string operationName, object? input = null, SignalEntityOptions? options = null) =>
            throw new NotSupportedException("Budget entities do not signal other entities.");

        public override string ScheduleNewOrchestration(TaskName name, object? input = null, StartOrchestrationOptions? options = null) =>
            throw new NotSupportedException("Budget entities do not start orchestrations.");
    }

    private sealed class HostOperation(string name, TaskEntityContext context, TaskEntityState state, string? input) : TaskEntityOperation
    {
        public override string Name => name;
        public override TaskEntityContext Context => context;
        public override TaskEntityState State => state;
        public override bool HasInput => input is not null;

        public override object? GetInput(Type inputType) => input is null ? null : JsonSerializer.Deserialize(input, inputType, Json);
    }
}

/// <summary>Budgets in the real <see cref="BudgetEntity"/> class, hosted by <see cref="EntityHost"/>.</summary>
public sealed class EntityBudgetBackend(TimeProvider time) : IBudgetBackend
{
    public EntityHost Host { get; } = new(() => new BudgetEntity(time));
    private readonly ConcurrentDictionary<BudgetScope, byte> _known = new();

    public async Task<BudgetCommandResult> SendAsync(BudgetScope scope, BudgetCommand command, CancellationToken cancellationToken)
    {
        _known.TryAdd(scope, 0);
        return (await Host.CallAsync<BudgetCommandResult>(DurableBudgetBackend.EntityId(scope), nameof(BudgetEntity.Apply), command))!;
    }

    public async Task<IReadOnlyList<BudgetSnapshot>> ListAsync(CancellationToken cancellationToken)
    {
        var list = new List<BudgetSnapshot>();
        foreach (var scope in _known.Keys)
        {
            var snapshot = await Host.CallAsync<BudgetSnapshot?>(DurableBudgetBackend.EntityId(scope), nameof(BudgetEntity.Get), null);
            if (snapshot is not null) list.Add(snapshot);
        }

        return list;
    }
}
