using System.Text.Json;
using Gateway.Core.Entities;

namespace Gateway.Core.Budgets;

/// <summary>
/// Budgets as entities (one per scope): <see cref="BudgetCommands"/> is the machine; the state is stored by
/// <see cref="BudgetStateCodec"/> (versioned); alerts an operation raises go to the entity's outbox, from which an
/// instance delivers them; replies leave out what the asker does not need (an admitted reservation's snapshot).
/// </summary>
public sealed class BudgetEntityKind : EntityKind<BudgetState, BudgetCommand, BudgetCommandResult>
{
    public const string EntityName = "budget";

    public static BudgetEntityKind Instance { get; } = new();

    public override string Name => EntityName;

    public override EntityStep<BudgetState, BudgetCommandResult> Step(BudgetState? state, BudgetCommand command, DateTimeOffset now)
    {
        var (next, result) = BudgetCommands.Apply(state, command, now);
        var raised = result.Alerts.IsDefaultOrEmpty
            ? null
            : result.Alerts.Select(a => new EntityOutboxItem(a.Id, JsonSerializer.Serialize(a, EntityStateJson.Options), null, now)).ToList();
        var reply = result with
        {
            Alerts = [],
            // requests near a limit are refused with the directory's figures: replies to them stay small
            Snapshot = command.Op is BudgetOp.Reserve or BudgetOp.Settle or BudgetOp.Release or BudgetOp.SettleLease or BudgetOp.ReturnLease or BudgetOp.SettleReservations
                ? null : result.Snapshot,
        };
        return new EntityStep<BudgetState, BudgetCommandResult>(next, reply, raised);
    }

    public override string SerializeState(BudgetState state) => BudgetStateCodec.Serialize(state);

    public override BudgetState DeserializeState(string json) => BudgetStateCodec.Deserialize(json);

    public override string? LegacyState(EntityEnvelope envelope) => envelope.Budget;

    /// <summary>An outbox item back as the alert it carries.</summary>
    public static BudgetAlert AlertOf(EntityOutboxItem item) =>
        JsonSerializer.Deserialize<BudgetAlert>(item.Value, EntityStateJson.Options) ?? throw new JsonException("a budget alert is a JSON object");
}
