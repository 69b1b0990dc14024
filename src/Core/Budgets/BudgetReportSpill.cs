using System.Text.Json;

namespace Gateway.Core.Budgets;

/// <summary>One report for one budget, as spilled when the budgets cannot be reached.</summary>
public sealed record SpilledBudgetCommand(string Scope, BudgetCommand Command);

/// <summary>
/// Where an instance puts the budget reports it cannot send (at shutdown the Functions host has already stopped the
/// Durable endpoint when the worker flushes): a queue, from which they are sent to the budgets later. Reports are
/// cumulative per lease or ledger, so one delivered twice counts once.
/// </summary>
public interface IBudgetReportSpill
{
    Task SpillAsync(IReadOnlyList<SpilledBudgetCommand> commands, CancellationToken cancellationToken);
}

/// <summary>The JSON form of spilled reports (a queue message).</summary>
public static class BudgetReportCodec
{
    public static string Encode(IReadOnlyList<SpilledBudgetCommand> commands) => JsonSerializer.Serialize(commands, EntityStateJson.Compact);

    /// <exception cref="JsonException">Not spilled budget reports.</exception>
    public static IReadOnlyList<SpilledBudgetCommand> Decode(string json) =>
        JsonSerializer.Deserialize<List<SpilledBudgetCommand>>(json, EntityStateJson.Options) ?? throw new JsonException("not spilled budget reports");
}
