using Gateway.Core.Budgets;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Entities;

namespace Gateway.Functions.Budgets;

/// <summary>
/// A budget entity's stored state: the budget state in its versioned JSON form (<see cref="BudgetStateCodec"/>, with its
/// own schema version and migrations), wrapped so the envelope can evolve too.
/// </summary>
public sealed class BudgetEntityState
{
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; set; } = CurrentSchemaVersion;

    /// <summary>The budget, serialised by <see cref="BudgetStateCodec"/>; null when none is configured.</summary>
    public string? Budget { get; set; }
}

/// <summary>
/// One Durable Entity per budget scope (entity key = the scope, e.g. <c>team:payments</c>). Thin: its one operation
/// hands the command to <see cref="BudgetCommands.Apply"/>. The Durable runtime runs one operation at a time per entity,
/// which is what makes reservations near a limit exact.
/// </summary>
public sealed class BudgetEntity(TimeProvider time) : TaskEntity<BudgetEntityState>
{
    public const string Name = "budget";

    public BudgetCommandResult Apply(BudgetCommand command)
    {
        var current = State.Budget is null ? null : BudgetStateCodec.Deserialize(State.Budget);
        var (next, result) = BudgetCommands.Apply(current, command, time.GetUtcNow());
        State = new BudgetEntityState { Budget = next is null ? null : BudgetStateCodec.Serialize(next) };
        return result;
    }

    /// <summary>The budget's snapshot now, or null when none is configured.</summary>
    public BudgetSnapshot? Get() => State.Budget is null ? null : BudgetMachine.GetState(BudgetStateCodec.Deserialize(State.Budget), time.GetUtcNow());

    protected override BudgetEntityState InitializeState(TaskEntityOperation entityOperation) => new();

    [Function(Name)]
    public static Task Run([EntityTrigger] TaskEntityDispatcher dispatcher) => dispatcher.DispatchAsync<BudgetEntity>();
}
